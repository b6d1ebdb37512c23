/// What went wrong, by name: the SQLSTATEs nhi reacts to, connection failure, and the wrapper's own errors.
/// Matched like GRDB's result codes: `catch PGError.uniqueViolation { ... }` or `switch error.kind`.
public struct PGErrorKind: Hashable, Sendable, CustomStringConvertible {
    public let name: String
    private init(_ name: String) { self.name = name }
    public var description: String { name }

    // From the server's SQLSTATE.
    public static let serializationFailure = PGErrorKind("serializationFailure")  // 40001
    public static let deadlockDetected = PGErrorKind("deadlockDetected")  // 40P01
    public static let uniqueViolation = PGErrorKind("uniqueViolation")  // 23505
    public static let foreignKeyViolation = PGErrorKind("foreignKeyViolation")  // 23503
    public static let checkViolation = PGErrorKind("checkViolation")  // 23514
    public static let notNullViolation = PGErrorKind("notNullViolation")  // 23502
    public static let lockNotAvailable = PGErrorKind("lockNotAvailable")  // 55P03 (NOWAIT, lock_timeout)
    public static let undefinedTable = PGErrorKind("undefinedTable")  // 42P01
    public static let queryCanceled = PGErrorKind("queryCanceled")  // 57014 (statement_timeout, cancel)
    /// Could not connect, or the connection broke (class 08, 57P01-57P03, or libpq without a SQLSTATE).
    public static let connectionFailure = PGErrorKind("connectionFailure")
    /// Any other server error: look at `sqlState`.
    public static let other = PGErrorKind("other")

    // The wrapper's own.
    /// A column name the result does not have (GRDB's `columnNotFound`): never read as NULL.
    public static let columnNotFound = PGErrorKind("columnNotFound")
    /// A value that cannot be read as the type asked for, or NULL where a value is required.
    public static let decodingFailed = PGErrorKind("decodingFailed")
    /// A COMMIT the server turned into a ROLLBACK, because a statement inside the transaction had failed.
    public static let transactionAborted = PGErrorKind("transactionAborted")
    /// The API used the wrong way (a NUL in a text parameter, a nested transaction, a lock outside one).
    public static let misuse = PGErrorKind("misuse")

    /// The kind of a server SQLSTATE.
    public static func of(sqlState: String) -> PGErrorKind {
        switch sqlState {
        case "40001": return .serializationFailure
        case "40P01": return .deadlockDetected
        case "23505": return .uniqueViolation
        case "23503": return .foreignKeyViolation
        case "23514": return .checkViolation
        case "23502": return .notNullViolation
        case "55P03": return .lockNotAvailable
        case "42P01": return .undefinedTable
        case "57014": return .queryCanceled
        case "57P01", "57P02", "57P03": return .connectionFailure
        default: return sqlState.hasPrefix("08") ? .connectionFailure : .other
        }
    }

    /// `catch PGErrorKind.uniqueViolation` (or `PGError.uniqueViolation`) matches a PGError of that kind.
    public static func ~= (kind: PGErrorKind, error: any Error) -> Bool {
        (error as? PGError)?.kind == kind
    }
}

/// One error type for everything libpq and the wrapper report: the kind, the SQLSTATE when the server gave one,
/// the server's (or libpq's) message and the SQL. Parameters are never included: they may hold private values.
/// A connection error names the target (host, port, database, user), never the password.
public struct PGError: Error, CustomStringConvertible, Sendable {
    public let kind: PGErrorKind
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    /// The primary message, one line, without libpq's "ERROR:  " prefix.
    public let message: String
    /// The server's DETAIL line, when it sent one (for a unique violation: the key and value).
    public let detail: String?
    /// The violated constraint, when the server named one.
    public let constraint: String?
    public let sql: String?

    public init(kind: PGErrorKind, sqlState: String? = nil, message: String, detail: String? = nil,
                constraint: String? = nil, sql: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
        self.sql = sql
    }

    /// Worth running the whole transaction again: a serialization failure or a deadlock.
    public var isRetryable: Bool { kind == .serializationFailure || kind == .deadlockDetected }

    /// "PostgreSQL error 23505 (uniqueViolation): duplicate key value ... - while executing `INSERT ...`".
    public var description: String {
        var text = "PostgreSQL error"
        if let sqlState { text += " \(sqlState)" }
        text += " (\(kind)): \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }

    public static let serializationFailure = PGErrorKind.serializationFailure
    public static let deadlockDetected = PGErrorKind.deadlockDetected
    public static let uniqueViolation = PGErrorKind.uniqueViolation
    public static let foreignKeyViolation = PGErrorKind.foreignKeyViolation
    public static let checkViolation = PGErrorKind.checkViolation
    public static let notNullViolation = PGErrorKind.notNullViolation
    public static let lockNotAvailable = PGErrorKind.lockNotAvailable
    public static let undefinedTable = PGErrorKind.undefinedTable
    public static let queryCanceled = PGErrorKind.queryCanceled
    public static let connectionFailure = PGErrorKind.connectionFailure
    public static let columnNotFound = PGErrorKind.columnNotFound
    public static let decodingFailed = PGErrorKind.decodingFailed
    public static let transactionAborted = PGErrorKind.transactionAborted
    public static let misuse = PGErrorKind.misuse
}
