/// Placeholder: the audit commands land with their issue.
public enum AuditCommands {
    public static var all: [CommandSpec] { [] }
}
