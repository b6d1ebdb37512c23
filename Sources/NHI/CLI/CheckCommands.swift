/// Placeholder: the check commands land with their issue.
public enum CheckCommands {
    public static var all: [CommandSpec] { [] }
}
