/// Placeholder: the completion commands land with their issue.
public enum CompletionCommands {
    public static var all: [CommandSpec] { [] }
}
