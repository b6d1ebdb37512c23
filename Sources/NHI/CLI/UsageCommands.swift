/// Placeholder: the usage commands land with their issue.
public enum UsageCommands {
    public static var all: [CommandSpec] { [] }
}
