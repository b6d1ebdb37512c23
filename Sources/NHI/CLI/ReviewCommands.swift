/// Placeholder: the review commands land with their issue.
public enum ReviewCommands {
    public static var all: [CommandSpec] { [] }
}
