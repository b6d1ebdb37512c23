/// Exit codes, exactly as the SPEC's table gives them.
public enum ExitCode: Int32, Sendable {
    case success = 0
    /// `check`, `scan` or `audit verify` found what it was asked to fail on.
    case findings = 1
    /// The command line cannot be parsed.
    case usage = 2
    /// A value is malformed or breaks a rule; a bad input file; a missing store.
    case data = 3
    /// The store is unreadable, locked past the timeout, corrupt, or from a newer version.
    case store = 4
}

/// The one error type commands throw. The CLI prints it once as `nhi: error: ...` and exits with its code.
public struct NHIError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case usage, data, store }
    public let kind: Kind
    public let message: String
    /// For usage errors: the command whose help to point at.
    public var helpCommand: String?
    /// Extra lines printed after the message (e.g. every bad row of an import).
    public var details: [String] = []
    /// The input field or column the error is about, when one is (import reports it per row).
    public var field: String?

    public init(_ kind: Kind, _ message: String, helpCommand: String? = nil, details: [String] = []) {
        self.kind = kind
        self.message = message
        self.helpCommand = helpCommand
        self.details = details
    }

    public static func usage(_ message: String, command: String? = nil) -> NHIError {
        NHIError(.usage, message, helpCommand: command)
    }
    public static func data(_ message: String, details: [String] = []) -> NHIError {
        NHIError(.data, message, details: details)
    }
    public static func store(_ message: String) -> NHIError { NHIError(.store, message) }

    /// The same error, marked as being about `field`.
    public func on(_ field: String) -> NHIError {
        var copy = self
        copy.field = field
        return copy
    }

    public var exitCode: ExitCode {
        switch kind {
        case .usage: return .usage
        case .data: return .data
        case .store: return .store
        }
    }

    public var description: String { message }
}
