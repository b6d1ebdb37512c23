/// Placeholder: the exchange commands land with their issue.
public enum ExchangeCommands {
    public static var all: [CommandSpec] { [] }
}
