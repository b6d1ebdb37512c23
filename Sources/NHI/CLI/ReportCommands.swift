/// Placeholder: the report commands land with their issue.
public enum ReportCommands {
    public static var all: [CommandSpec] { auditor }
}
