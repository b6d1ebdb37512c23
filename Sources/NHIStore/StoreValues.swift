import NHIBasics

/// A value bound to, or read from, a SQL statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)

    public var int: Int64? { if case .int(let v) = self { return v }; return nil }
    public var text: String? { if case .text(let v) = self { return v }; return nil }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension Optional where Wrapped == String {
    package var sql: SQLValue { map(SQLValue.text) ?? .null }
}
extension Optional where Wrapped == Int64 {
    package var sql: SQLValue { map(SQLValue.int) ?? .null }
}

/// A statement's arguments: by position (`?`) or by name (`:as_of`), as GRDB's StatementArguments. A named
/// statement must be given every name it uses: a misspelt name is an error, not a silent NULL.
public enum StatementArguments: Sendable, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral {
    case positional([SQLValue])
    case named([String: SQLValue])

    public init(arrayLiteral elements: SQLValue...) { self = .positional(elements) }
    public init(dictionaryLiteral elements: (String, SQLValue)...) {
        self = .named(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public static let none = StatementArguments.positional([])
}

/// What went wrong in a store, named the same whatever the engine (SQLite result codes, PostgreSQL SQLSTATEs map
/// onto these), so callers match a kind instead of an engine's number.
public enum StoreErrorKind: Sendable, Equatable {
    /// Locked by another connection past the busy timeout (SQLITE_BUSY, SQLITE_LOCKED; lock_not_available).
    case busy
    /// A constraint refused the change (SQLITE_CONSTRAINT; PostgreSQL class 23).
    case constraint
    /// The file is damaged (SQLITE_CORRUPT).
    case corrupt
    /// The file is not a database (SQLITE_NOTADB).
    case notADatabase
    /// The store cannot be written (SQLITE_READONLY; read_only_sql_transaction).
    case readOnly
    /// The disk or quota is full (SQLITE_FULL; disk_full).
    case full
    /// The store cannot be opened or reached (SQLITE_CANTOPEN; PostgreSQL connection failures).
    case cannotOpen
    /// A serialisation failure or deadlock the transaction can be retried after (PostgreSQL 40001, 40P01).
    case retry
    /// A statement named a column the result does not have, or was given the wrong named arguments.
    case misuse
    /// Anything else.
    case other

    /// `catch StoreErrorKind.constraint` (as GRDB's `catch DatabaseError.SQLITE_CONSTRAINT`).
    public static func ~= (kind: StoreErrorKind, error: any Error) -> Bool {
        (error as? DatabaseError)?.kind == kind
    }
}

/// One error type for everything a store engine reports: its kind, the engine's own code and message, and the
/// SQL. Arguments are never included: they may hold private values.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public let kind: StoreErrorKind
    /// The engine's code: SQLite's extended result code; 0 for errors nhi raises itself.
    public let code: Int32
    public let message: String
    public let sql: String?
    /// How the engine names itself in messages ("SQLite", "PostgreSQL").
    public let engine: String

    public init(kind: StoreErrorKind, code: Int32, message: String, sql: String?, engine: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.sql = sql
        self.engine = engine
    }

    public var isConstraint: Bool { kind == .constraint }
    public var isBusy: Bool { kind == .busy }

    public var description: String {
        var text = "\(engine) error\(code != 0 ? " \(code)" : ""): \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }

    /// How a store failure reaches the user: locked and corrupt stores are store errors (exit 4); a constraint the
    /// validation layer did not catch first is a data error (exit 3).
    public var asNHIError: NHIError {
        switch kind {
        case .constraint: return .data("the change breaks a store constraint: \(message)")
        case .busy: return .store("the store is locked by another process (waited past the busy timeout): \(message)")
        default: return .store(description)
        }
    }
}
