import NHIBasics
import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A prepared SQLite statement: prepared once, finalized in deinit. Not Sendable: it belongs to one connection.
package final class SQLiteStatement {
    package let handle: OpaquePointer
    package let sql: String
    unowned let engine: SQLiteEngine
    /// The statement's parameter names (`:as_of`), by index - 1; empty names for positional ones.
    private(set) lazy var parameterNames: [String] = (1...max(1, Int(sqlite3_bind_parameter_count(handle)))).map { i in
        guard i <= Int(sqlite3_bind_parameter_count(handle)), let name = sqlite3_bind_parameter_name(handle, Int32(i)) else { return "" }
        return String(cString: name)
    }

    init(engine: SQLiteEngine, sql: String, persistent: Bool) throws(DatabaseError) {
        var stmt: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(engine.handle, sql, -1, flags, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw engine.error(rc, sql: sql)
        }
        self.handle = stmt
        self.sql = sql
        self.engine = engine
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ arguments: StatementArguments) throws(DatabaseError) {
        switch arguments {
        case .positional(let values): try bind(values)
        case .named(let values): try bind(named: values)
        }
    }

    func bind(_ values: [SQLValue]) throws(DatabaseError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    /// Every name the statement uses must be given (a misspelt name is an error, not a NULL); a value the statement
    /// does not use is ignored, as in GRDB, so one argument set can serve statements that filter differently.
    func bind(named values: [String: SQLValue]) throws(DatabaseError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let count = Int(sqlite3_bind_parameter_count(handle))
        for index in 0..<count {
            let name = parameterNames[index]
            guard name.count > 1, let value = values[String(name.dropFirst())] else {
                throw DatabaseError(kind: .misuse, code: 0,
                                    message: "no value for the statement's parameter \(name.isEmpty ? "?\(index + 1)" : name)",
                                    sql: sql, engine: "SQLite")
            }
            try bind(value, at: Int32(index + 1))
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) throws(DatabaseError) {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(handle, index)
        case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
        case .double(let v): rc = sqlite3_bind_double(handle, index, v)
        case .text(let v): rc = sqlite3_bind_text(handle, index, v, -1, nhi_sqlite_transient())
        }
        guard rc == SQLITE_OK else { throw engine.error(rc, sql: sql) }
    }

    /// Steps once: true when a row is available.
    func step() throws(DatabaseError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw engine.error(rc, sql: sql)
        }
    }

    /// The result's column names, read once per statement (a cached statement keeps its layout).
    private(set) lazy var layout = RowLayout(names: (0..<sqlite3_column_count(handle)).map {
        String(cString: sqlite3_column_name(handle, $0))
    })
}

/// The SQLite engine: one connection (WAL, busy timeout and pragmas are set by `Store`).
package final class SQLiteEngine: DatabaseEngine {
    package let handle: OpaquePointer
    private var cache: [String: SQLiteStatement] = [:]
    /// Statements whose SQL is a literal, by the literal's address: finding one hashes a pointer instead of the
    /// SQL text (a bulk import's inserts ran that lookup, a few hundred characters hashed and compared, per row).
    private var literalCache: [UnsafeRawPointer: SQLiteStatement] = [:]

    package var engineName: String { "SQLite" }
    package var dialect: SQLDialect { .sqlite }

    package init(path: String, mode: Database.OpenMode, busyTimeoutMilliseconds: Int32) throws(DatabaseError) {
        var db: OpaquePointer?
        let flags: Int32
        switch mode {
        case .readWrite: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        case .readOnly: flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
        case .readOnlyImmutable: flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI
        case .readWriteCreate, .memory: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        }
        let target = mode == .memory ? ":memory:" : mode == .readOnlyImmutable ? SQLiteEngine.immutableURI(path) : path
        let rc = sqlite3_open_v2(target, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            // The handle must be closed even when opening failed.
            sqlite3_close(db)
            throw DatabaseError(kind: SQLiteEngine.kind(rc), code: rc, message: message, sql: nil, engine: "SQLite")
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        if let file = SQLiteEngine.traceFile { SQLiteEngine.trace(db, into: file) }
    }

    /// `file:PATH?immutable=1`, the path percent-encoded where a URI needs it (SQLite's URI filenames).
    package static func immutableURI(_ path: String) -> String {
        var uri = "file:"
        for byte in path.utf8 {
            switch byte {
            case UInt8(ascii: "%"), UInt8(ascii: "?"), UInt8(ascii: "#"), 0..<0x21, 0x7F...:
                let hex = Array("0123456789ABCDEF".utf8)
                uri += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            default: uri += String(decoding: [byte], as: UTF8.self)
            }
        }
        return uri + "?immutable=1"
    }

    /// `NHI_TRACE_SQL=FILE` appends every statement a command runs, with its bound values written in, to FILE.
    nonisolated(unsafe) private static let traceFile: UnsafeMutablePointer<FILE>? = {
        guard let path = getenv("NHI_TRACE_SQL"), path.pointee != 0 else { return nil }
        return fopen(path, "a")
    }()

    private static func trace(_ db: OpaquePointer, into file: UnsafeMutablePointer<FILE>) {
        sqlite3_trace_v2(db, UInt32(SQLITE_TRACE_STMT), { _, _, statement, unexpanded in
            guard let statement, let file = SQLiteEngine.traceFile else { return 0 }
            // A trigger's statements are reported as a comment; the statement that fired it is already written.
            if let unexpanded, unexpanded.load(as: CChar.self) == 45 /* "-" */ { return 0 }
            guard let sql = sqlite3_expanded_sql(OpaquePointer(statement)) else { return 0 }
            fputs(sql, file)
            fputs(";\n", file)
            fflush(file)
            sqlite3_free(sql)
            return 0
        }, nil)
    }

    deinit {
        // Unfinalized statements make close fail with SQLITE_BUSY.
        cache.removeAll()
        literalCache.removeAll()
        sqlite3_close_v2(handle)
    }

    /// SQLite's primary result codes, by the names GRDB's ResultCode gives them.
    package static func kind(_ code: Int32) -> StoreErrorKind {
        switch code & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        case SQLITE_CONSTRAINT: return .constraint
        case SQLITE_CORRUPT: return .corrupt
        case SQLITE_NOTADB: return .notADatabase
        case SQLITE_READONLY: return .readOnly
        case SQLITE_FULL: return .full
        case SQLITE_CANTOPEN: return .cannotOpen
        case SQLITE_MISUSE, SQLITE_RANGE: return .misuse
        default: return .other
        }
    }

    func error(_ rc: Int32, sql: String?) -> DatabaseError {
        let extended = sqlite3_extended_errcode(handle)
        let code = extended != 0 ? extended : rc
        return DatabaseError(kind: SQLiteEngine.kind(code), code: code, message: String(cString: sqlite3_errmsg(handle)),
                             sql: sql, engine: "SQLite")
    }

    private func statement(_ sql: String) throws(DatabaseError) -> SQLiteStatement {
        if let cached = cache[sql] { return cached }
        let stmt = try SQLiteStatement(engine: self, sql: sql, persistent: true)
        cache[sql] = stmt
        return stmt
    }

    private func statement(literal sql: StaticString) throws(DatabaseError) -> SQLiteStatement {
        guard sql.hasPointerRepresentation else { return try statement(sql.description) }
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = literalCache[key] { return cached }
        let stmt = try statement(sql.description)
        literalCache[key] = stmt
        return stmt
    }

    package func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int {
        let stmt = try statement(literal: sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        while try stmt.step() {}
        return Int(sqlite3_changes(handle))
    }

    package func executeScript(_ sql: String) throws(DatabaseError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            let code = sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : rc
            throw DatabaseError(kind: SQLiteEngine.kind(code), code: code, message: text, sql: sql, engine: "SQLite")
        }
    }

    package func execute(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> Int {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        while try stmt.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// The statement for `sql`, bound and ready to step (`Database.forEachCursor`'s inlinable loop).
    package func startScan(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> OpaquePointer {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        return stmt.handle
    }

    package func step(_ handle: OpaquePointer, sql: String) throws(DatabaseError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(rc, sql: sql)
        }
    }

    package func endScan(_ handle: OpaquePointer) { sqlite3_reset(handle) }

    package func forEachCursor(_ sql: String, _ arguments: StatementArguments, _ body: (Cursor) throws -> Void) throws {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        let cursor = Cursor(sqlite: stmt.handle)
        while try stmt.step() {
            try body(cursor)
        }
    }

    package func forEachRow(_ sql: String, _ arguments: StatementArguments, _ body: (Row) throws -> Void) throws {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        let layout = stmt.layout
        while try stmt.step() {
            try body(Row(layout: layout, values: SQLiteEngine.values(stmt.handle, count: layout.names.count)))
        }
    }

    package func begin(_ kind: TransactionKind) throws(DatabaseError) {
        try executeScript(kind == .write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED")
    }

    package func commit() throws(DatabaseError) { try executeScript("COMMIT") }

    package func rollback() { try? executeScript("ROLLBACK") }

    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    static func values(_ handle: OpaquePointer, count: Int) -> [SQLValue] {
        (0..<Int32(count)).map { index in
            switch sqlite3_column_type(handle, index) {
            case SQLITE_NULL: return .null
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, index))
            case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, index))
            default: return SQLiteColumn.text(handle, index).map(SQLValue.text) ?? .null
            }
        }
    }
}

/// Column reads for `Cursor`, in place on the statement: inlinable (with `Cursor`'s readers), so the state scan in
/// another module reads a column without a call per read.
@usableFromInline enum SQLiteColumn {

    @inlinable @inline(__always) static func isNull(_ handle: OpaquePointer, _ index: Int32) -> Bool {
        sqlite3_column_type(handle, index) == SQLITE_NULL
    }

    @inlinable @inline(__always) static func int(_ handle: OpaquePointer, _ index: Int32) -> Int64? {
        sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
    }

    @inlinable @inline(__always) static func text(_ handle: OpaquePointer, _ index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }

    @inlinable @inline(__always) static func withBytes<R>(_ handle: OpaquePointer, _ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return try body(UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))))
    }
}
