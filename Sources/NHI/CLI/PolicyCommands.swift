/// Placeholder: the policy commands land with their issue.
public enum PolicyCommands {
    public static var all: [CommandSpec] { [] }
}
