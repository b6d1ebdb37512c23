import CLibPQ

/// The isolation level of a transaction (`BEGIN ISOLATION LEVEL ...`).
public enum PGIsolation: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// One libpq connection (PQconnectdbParams; PQfinish in deinit, and also when connecting fails). Not Sendable:
/// a connection is used by one thread at a time, like GRDB's `Database`.
///
/// Statements go through PQexecParams with their parameters beside the SQL, in text format (bytes in binary),
/// never spliced into it. The connection speaks UTF8 whatever the URI says; server notices are dropped.
public final class PGConnection {
    let handle: OpaquePointer
    /// Where this connection went (host or socket directory, port, database, user), for messages.
    public let target: PGConnectionTarget

    /// Connects with a libpq URI (`postgresql://user@host:5432/db?sslmode=require`, `postgres://...`) or a
    /// `key=value` string. libpq itself reads PGPASSWORD, ~/.pgpass, PGHOST and the other PG* variables.
    /// A failure throws `.connectionFailure` naming the target, never the password.
    public init(_ conninfo: String) throws(PGError) {
        let planned = try PGConnectionTarget(parsing: conninfo)
        // expand_dbname = 1: the first "dbname" is the whole URI; the options after it override the URI's.
        let keywords = ["dbname", "client_encoding", "fallback_application_name"]
        let values = [conninfo, "UTF8", "nhi"]
        let connection = PGConnection.withCStrings(keywords) { keywords in
            PGConnection.withCStrings(values) { values in PQconnectdbParams(keywords, values, 1) }
        }
        guard let connection else {
            throw PGError(kind: .connectionFailure, message: "cannot connect to PostgreSQL (\(planned)): out of memory")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = PGSecrets.redact(PGSecrets.oneLine(String(cString: PQerrorMessage(connection))),
                                          conninfo: conninfo)
            PQfinish(connection)
            throw PGError(kind: .connectionFailure, message: "cannot connect to PostgreSQL (\(planned)): \(reason)")
        }
        nhi_pg_silence_notices(connection)
        handle = connection
        func text(_ value: UnsafeMutablePointer<CChar>?, _ fallback: String) -> String {
            value.map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        target = PGConnectionTarget(
            host: text(PQhost(connection), planned.host), port: text(PQport(connection), planned.port),
            database: text(PQdb(connection), planned.database), user: text(PQuser(connection), planned.user))
    }

    deinit { PQfinish(handle) }

    /// The server's version as a number: 150012 for 15.12.
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Inside BEGIN ... COMMIT (also when a statement in it has failed and only ROLLBACK is left).
    public var isInTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    // MARK: Statements

    /// Runs one statement with `$1`, `$2`, ... bound to `params` and returns its rows (none for DDL, INSERT...).
    @discardableResult
    public func exec(_ sql: String, params: [PGValue] = []) throws(PGError) -> PGResult {
        let parameters = try PGParameters(params, sql: sql)
        let result = parameters.withUnsafeArrays { types, values, lengths, formats in
            PQexecParams(handle, sql, parameters.count, types, values, lengths, formats, 0)
        }
        return try finished(result, sql: sql)
    }

    /// Runs several `;`-separated statements without parameters (PQexec), e.g. a migration's DDL. Unless the
    /// script has its own BEGIN/COMMIT, the statements run in one implicit transaction: all or nothing.
    public func execScript(_ sql: String) throws(PGError) {
        _ = try finished(PQexec(handle, sql), sql: sql)
    }

    private func finished(_ result: OpaquePointer?, sql: String) throws(PGError) -> PGResult {
        guard let result else { throw connectionError(sql: sql) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PGResult(handle: result, sql: sql)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            PQclear(result)
            // Leave COPY mode so that the connection stays usable.
            _ = PQputCopyEnd(handle, "COPY is not supported by exec")
            while let rest = PQgetResult(handle) { PQclear(rest) }
            throw PGError(kind: .misuse, message: "COPY needs its own API; exec does not run it", sql: sql)
        default:
            let error = self.error(from: result, sql: sql)
            PQclear(result)
            throw error
        }
    }

    /// Reads a query's rows one at a time (libpq's single-row mode): memory stays flat however many rows there
    /// are. `body` sees each row as it arrives; when it throws, the query is cancelled, the rest of the rows are
    /// discarded, and its error is rethrown. A server error part-way through is thrown after the rows before it.
    public func stream(_ sql: String, params: [PGValue] = [], _ body: (PGRow) throws -> Void) throws {
        let parameters = try PGParameters(params, sql: sql)
        let sent = parameters.withUnsafeArrays { types, values, lengths, formats in
            PQsendQueryParams(handle, sql, parameters.count, types, values, lengths, formats, 0)
        }
        guard sent == 1 else { throw connectionError(sql: sql) }
        let singleRow = PQsetSingleRowMode(handle) == 1
        var columns: PGColumns?
        var failure: (any Error)?
        // Every result must be read, up to the nil that ends the query, before the connection can be used again.
        while let result = PQgetResult(handle) {
            if failure != nil {
                PQclear(result)
                continue
            }
            switch PQresultStatus(result) {
            case PGRES_SINGLE_TUPLE:
                let shape = columns ?? PGColumns(result: result)
                columns = shape
                do {
                    try body(PGRow(result: PGResult(handle: result, columns: shape, sql: sql), row: 0))
                } catch {
                    failure = error
                    cancel()
                }
            case PGRES_TUPLES_OK where !singleRow:
                // Single-row mode was refused: the rows came in one result after all.
                let whole = PGResult(handle: result, sql: sql)
                do {
                    for row in 0..<whole.rowCount { try body(whole[row]) }
                } catch { failure = error }
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                PQclear(result)  // the end of the rows (a zero-row result)
            default:
                failure = error(from: result, sql: sql)
                PQclear(result)
            }
        }
        if let failure { throw failure }
    }

    /// Asks the server to stop the running statement (PQcancel); its error comes back as the query's result.
    private func cancel() {
        guard let cancel = PQgetCancel(handle) else { return }
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, Int32(buffer.count))
        PQfreeCancel(cancel)
    }

    // MARK: Transactions

    /// BEGIN; body; COMMIT. When body throws, ROLLBACK and rethrow body's error (the first error, not one from
    /// the rollback). A COMMIT the server answers with ROLLBACK (a statement inside failed and body carried on)
    /// throws `.transactionAborted`. Transactions do not nest: calling this inside one throws `.misuse`.
    @discardableResult
    public func transaction<T>(_ isolation: PGIsolation = .readCommitted, readOnly: Bool = false,
                               _ body: () throws -> T) throws -> T {
        guard !isInTransaction else {
            throw PGError(kind: .misuse, message: "a transaction is already open on this connection")
        }
        try exec("BEGIN ISOLATION LEVEL \(isolation.rawValue)" + (readOnly ? " READ ONLY" : ""))
        let value: T
        do {
            value = try body()
        } catch {
            rollbackIfOpen()
            throw error
        }
        let commit: PGResult
        do {
            commit = try exec("COMMIT")
        } catch {
            rollbackIfOpen()
            throw error
        }
        guard commit.commandTag == "COMMIT" else {
            throw PGError(kind: .transactionAborted,
                          message: "the transaction was rolled back: a statement in it failed", sql: "COMMIT")
        }
        return value
    }

    private func rollbackIfOpen() {
        if isInTransaction { _ = try? exec("ROLLBACK") }
    }

    /// Waits for the transaction-scoped advisory lock `key` (pg_advisory_xact_lock); the server releases it at
    /// COMMIT or ROLLBACK. Serialises writers across processes and machines, e.g. the audit chain's append.
    /// Honours `lock_timeout` (then throws `.lockNotAvailable`). Outside a transaction it throws `.misuse`:
    /// the lock would be released as soon as it was taken.
    public func advisoryTransactionLock(_ key: Int64) throws(PGError) {
        try requireTransaction("pg_advisory_xact_lock")
        try exec("SELECT pg_advisory_xact_lock($1)", params: [.int(key)])
    }

    /// Takes the transaction-scoped advisory lock `key` if it is free (pg_try_advisory_xact_lock): true when taken.
    public func tryAdvisoryTransactionLock(_ key: Int64) throws(PGError) -> Bool {
        try requireTransaction("pg_try_advisory_xact_lock")
        return try exec("SELECT pg_try_advisory_xact_lock($1) AS locked", params: [.int(key)])[0].get("locked")
    }

    private func requireTransaction(_ what: String) throws(PGError) {
        guard isInTransaction else {
            throw PGError(kind: .misuse, message: "\(what) outside a transaction would release the lock at once")
        }
    }

    /// A stable advisory-lock key for a name (64-bit FNV-1a of its UTF-8): the same in every process, machine and
    /// version, unlike Swift's `hashValue` (seeded per process) or PostgreSQL's `hashtext` (internal).
    public static func advisoryKey(_ name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// `"name"` with inner quotes doubled, for the few statements that cannot take a parameter (CREATE SCHEMA,
    /// SET search_path). A NUL cannot be in an identifier.
    public static func quoted(identifier name: String) throws(PGError) -> String {
        guard !name.utf8.contains(0) else {
            throw PGError(kind: .misuse, message: "an identifier cannot contain a NUL character")
        }
        return "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    // MARK: Errors

    /// The error of a failed result: SQLSTATE, primary message, detail, constraint.
    func error(from result: OpaquePointer, sql: String?) -> PGError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(nhi_pg_diag_sqlstate())
        guard let sqlState else {
            // libpq's own error (no SQLSTATE): most often the connection went away.
            return connectionError(sql: sql, message: String(cString: PQresultErrorMessage(result)))
        }
        let message = field(nhi_pg_diag_message_primary()) ?? PGSecrets.oneLine(String(cString: PQresultErrorMessage(result)))
        return PGError(kind: PGErrorKind.of(sqlState: sqlState), sqlState: sqlState, message: message,
                       detail: field(nhi_pg_diag_message_detail()), constraint: field(nhi_pg_diag_constraint_name()),
                       sql: sql)
    }

    /// An error libpq reports on the connection rather than in a result.
    func connectionError(sql: String?, message: String? = nil) -> PGError {
        let text = PGSecrets.oneLine(message ?? String(cString: PQerrorMessage(handle)))
        if PQstatus(handle) != CONNECTION_OK {
            return PGError(kind: .connectionFailure, message: "lost the connection to PostgreSQL (\(target)): \(text)",
                           sql: sql)
        }
        return PGError(kind: .other, message: text.isEmpty ? "libpq returned no result" : text, sql: sql)
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let storage = strings.map { Array($0.utf8CString) }
        func nest(_ index: Int, _ pointers: [UnsafePointer<CChar>?]) -> R {
            if index == storage.count {
                return (pointers + [nil]).withUnsafeBufferPointer { body($0.baseAddress!) }
            }
            return storage[index].withUnsafeBufferPointer { nest(index + 1, pointers + [$0.baseAddress]) }
        }
        return nest(0, [])
    }
}
