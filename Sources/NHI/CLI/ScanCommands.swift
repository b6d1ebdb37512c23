/// Placeholder: the scan commands land with their issue.
public enum ScanCommands {
    public static var all: [CommandSpec] { [] }
}
