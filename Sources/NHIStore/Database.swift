import NHIBasics
import CSQLite
#if canImport(Glibc)
import Glibc
#endif

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

/// One error type for everything SQLite reports: the extended result code, SQLite's message and the SQL.
/// Arguments are never included: they may hold private values.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    public let code: Int32
    public let message: String
    public let sql: String?

    public var primaryCode: Int32 { code & 0xFF }
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    public var description: String {
        var text = "SQLite error \(code): \(message)"
        if let sql { text += " - while executing `\(sql)`" }
        return text
    }
}

/// A prepared statement: prepared once, finalized in deinit. Not Sendable: it belongs to one connection.
public final class Statement {
    package let handle: OpaquePointer
    package let sql: String
    package unowned let database: Database

    package init(database: Database, sql: String, persistent: Bool) throws(DatabaseError) {
        var stmt: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(database.handle, sql, -1, flags, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw database.error(rc, sql: sql)
        }
        self.handle = stmt
        self.sql = sql
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    package func bind(_ values: [SQLValue]) throws(DatabaseError) {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
            case .double(let v): rc = sqlite3_bind_double(handle, index, v)
            case .text(let v): rc = sqlite3_bind_text(handle, index, v, -1, nhi_sqlite_transient())
            }
            guard rc == SQLITE_OK else { throw database.error(rc, sql: sql) }
        }
    }

    /// Steps once: true when a row is available.
    package func step() throws(DatabaseError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(rc, sql: sql)
        }
    }

    package var columnCount: Int32 { sqlite3_column_count(handle) }

    /// The result's column names, read once per statement (a cached statement keeps its layout).
    package private(set) lazy var layout = RowLayout(names: (0..<columnCount).map { columnName($0) })

    package func row() -> Row {
        let count = Int32(layout.names.count)
        return Row(layout: layout, values: (0..<count).map { value($0) })
    }

    package func columnName(_ index: Int32) -> String { String(cString: sqlite3_column_name(handle, index)) }

    package func value(_ index: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, index) {
        case SQLITE_NULL: return .null
        case SQLITE_INTEGER: return .int(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .double(sqlite3_column_double(handle, index))
        default:
            guard let text = sqlite3_column_text(handle, index) else { return .null }
            let length = Int(sqlite3_column_bytes(handle, index))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: length), as: UTF8.self))
        }
    }
}

/// The current row of a statement being stepped, read by column position. Valid only inside the body of
/// `Database.forEachCursor`.
public struct Cursor {
    package let handle: OpaquePointer

    public func isNull(_ index: Int32) -> Bool { sqlite3_column_type(handle, index) == SQLITE_NULL }

    public func int(_ index: Int32) -> Int64? {
        sqlite3_column_type(handle, index) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, index)
    }

    public func text(_ index: Int32) -> String? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))), as: UTF8.self)
    }

    public func string(_ index: Int32) -> String { text(index) ?? "" }

    /// The column's text as bytes, without making a String; nil when it is NULL.
    public func withBytes<R>(_ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard let text = sqlite3_column_text(handle, index) else { return nil }
        return try body(UnsafeRawBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, index))))
    }
}

/// The column names of a statement's result, shared by all its rows: looking a name up is one hash, and a row
/// carries no copy of the names (at a million rows, per-row name arrays and linear searches dominated reports).
///
/// A name is found through a small open-addressing table keyed by a cheap hash of its bytes: the state query
/// looks up about 30 names per row, and with a `[String: Int]` the SipHash of each name was 17% of a report's
/// instructions at 100k tokens.
public final class RowLayout: Sendable {
    public let names: [String]
    /// Slot -> column index + 1 (0: empty); a power of two at least twice the number of names.
    private let slots: [Int32]

    package init(names: [String]) {
        self.names = names
        var size = 8
        while size < names.count * 2 { size *= 2 }
        var slots = [Int32](repeating: 0, count: size)
        for (i, name) in names.enumerated() {
            var slot = RowLayout.hash(name) & (size - 1)
            var duplicate = false
            while slots[slot] != 0 {
                if names[Int(slots[slot]) - 1] == name { duplicate = true; break }
                slot = (slot + 1) & (size - 1)
            }
            // The first column of a name wins, as it did with a dictionary.
            if !duplicate { slots[slot] = Int32(i + 1) }
        }
        self.slots = slots
    }

    /// From the length and four of the bytes (column names differ there; equal hashes are told apart by the
    /// names themselves), so a lookup costs no walk over the name.
    package static func hash(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { b in
            let n = b.count
            guard n > 0 else { return 0 }
            var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
            h ^= UInt64(b[0]) | UInt64(b[n - 1]) << 8 | UInt64(b[n / 2]) << 16 | UInt64(b[(n - 1) / 3]) << 24
            h = h &* 0xFF51_AFD7_ED55_8CCD
            return Int(truncatingIfNeeded: h ^ (h >> 32))
        }
    }

    /// The index of the first column called `name`.
    package func position(of name: String) -> Int? {
        let mask = slots.count - 1
        var slot = RowLayout.hash(name) & mask
        while true {
            let entry = Int(slots[slot])
            if entry == 0 { return nil }
            if names[entry - 1] == name { return entry - 1 }
            slot = (slot + 1) & mask
        }
    }
}

/// A row read from a statement, by column name or position.
public struct Row: Sendable {
    package let layout: RowLayout
    public let values: [SQLValue]

    public init(columns: [String], values: [SQLValue]) {
        self.init(layout: RowLayout(names: columns), values: values)
    }

    package init(layout: RowLayout, values: [SQLValue]) {
        self.layout = layout
        self.values = values
    }

    public var columns: [String] { layout.names }

    public subscript(_ name: String) -> SQLValue {
        guard let i = layout.position(of: name) else { return .null }
        return values[i]
    }
    public func text(_ name: String) -> String? { self[name].text }
    public func int(_ name: String) -> Int64? { self[name].int }
    public func string(_ name: String) -> String { self[name].text ?? "" }
}

/// One SQLite connection. All SQL in nhi goes through this type (and the store types built on it).
public final class Database {
    package let handle: OpaquePointer
    public let path: String
    private var cache: [String: Statement] = [:]
    /// Statements whose SQL is a literal, by the literal's address: finding one hashes a pointer instead of the
    /// SQL text (a bulk import's inserts ran that lookup, a few hundred characters hashed and compared, per row).
    private var literalCache: [UnsafeRawPointer: Statement] = [:]
    public private(set) var inTransaction = false

    public enum OpenMode: Sendable { case readWrite, readWriteCreate, memory }

    public init(path: String, mode: OpenMode, busyTimeoutMilliseconds: Int32 = 10_000) throws(DatabaseError) {
        var db: OpaquePointer?
        let flags: Int32
        switch mode {
        case .readWrite: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
        case .readWriteCreate, .memory: flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        }
        let target = mode == .memory ? ":memory:" : path
        let rc = sqlite3_open_v2(target, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            // The handle must be closed even when opening failed.
            sqlite3_close(db)
            throw DatabaseError(code: rc, message: message, sql: nil)
        }
        self.handle = db
        self.path = path
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        if let file = Database.traceFile { Database.trace(db, into: file) }
    }

    /// `NHI_TRACE_SQL=FILE` appends every statement a command runs, with its bound values written in, to FILE.
    /// `make bench` replays that file with the sqlite3 CLI, so the comparison runs exactly nhi's SQL.
    nonisolated(unsafe) private static let traceFile: UnsafeMutablePointer<FILE>? = {
        guard let path = getenv("NHI_TRACE_SQL"), path.pointee != 0 else { return nil }
        return fopen(path, "a")
    }()

    private static func trace(_ db: OpaquePointer, into file: UnsafeMutablePointer<FILE>) {
        sqlite3_trace_v2(db, UInt32(SQLITE_TRACE_STMT), { _, _, statement, unexpanded in
            guard let statement, let file = Database.traceFile else { return 0 }
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

    package func error(_ rc: Int32, sql: String?) -> DatabaseError {
        DatabaseError(code: sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : rc,
                      message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    private func statement(_ sql: String) throws(DatabaseError) -> Statement {
        if let cached = cache[sql] { return cached }
        let stmt = try Statement(database: self, sql: sql, persistent: true)
        cache[sql] = stmt
        return stmt
    }

    private func statement(literal sql: StaticString) throws(DatabaseError) -> Statement {
        guard sql.hasPointerRepresentation else { return try statement(sql.description) }
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = literalCache[key] { return cached }
        let stmt = try statement(sql.description)
        literalCache[key] = stmt
        return stmt
    }

    /// `execute` for SQL written as a literal, for statements run once per row of a bulk write.
    @discardableResult
    public func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int {
        let stmt = try statement(literal: sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        while try stmt.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Runs one or more statements that take no arguments (schema, pragmas).
    public func executeScript(_ sql: String) throws(DatabaseError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw DatabaseError(code: rc, message: text, sql: sql)
        }
    }

    /// Runs a statement with bound arguments; returns the number of rows changed.
    @discardableResult
    public func execute(_ sql: String, _ arguments: [SQLValue] = []) throws(DatabaseError) -> Int {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        while try stmt.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// Calls `body` for each row, without collecting them (for large reports and exports).
    public func forEachRow(_ sql: String, _ arguments: [SQLValue] = [], _ body: (Row) throws -> Void) throws {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        while try stmt.step() {
            try body(stmt.row())
        }
    }

    /// Calls `body` with a cursor on each row, read by position without copying the row into values: for scans of
    /// a million rows whose columns the caller knows (the derived-state scan).
    public func forEachCursor(_ sql: String, _ arguments: [SQLValue] = [], _ body: (Cursor) throws -> Void) throws {
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        let cursor = Cursor(handle: stmt.handle)
        while try stmt.step() {
            try body(cursor)
        }
    }

    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [Row] {
        var result: [Row] = []
        try forEachRow(sql, arguments) { result.append($0) }
        return result
    }

    public func row(_ sql: String, _ arguments: [SQLValue] = []) throws -> Row? {
        var result: Row?
        let stmt = try statement(sql)
        try stmt.bind(arguments)
        defer { sqlite3_reset(stmt.handle) }
        if try stmt.step() {
            result = stmt.row()
        }
        return result
    }

    public func scalar(_ sql: String, _ arguments: [SQLValue] = []) throws -> SQLValue {
        try row(sql, arguments)?.values.first ?? .null
    }

    /// A write transaction. BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that later
    /// upgrades can hit SQLITE_BUSY that no busy timeout cures.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "nested transaction")
        return try transaction(begin: "BEGIN IMMEDIATE", body)
    }

    /// A read transaction, so a report sees one consistent snapshot.
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        return try transaction(begin: "BEGIN DEFERRED", body)
    }

    /// Commits when `body` returns, rolls back when it throws; the first error is the one rethrown.
    private func transaction<T>(begin: String, _ body: () throws -> T) throws -> T {
        try executeScript(begin)
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try body()
            try executeScript("COMMIT")
            return value
        } catch {
            try? executeScript("ROLLBACK")
            throw error
        }
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

extension DatabaseError {
    /// How a SQLite failure reaches the user: locked and corrupt stores are store errors (exit 4);
    /// a constraint the validation layer did not catch first is a data error (exit 3).
    public var asNHIError: NHIError {
        if isConstraint { return .data("the change breaks a store constraint: \(message)") }
        if isBusy { return .store("the store is locked by another process (waited past the busy timeout): \(message)") }
        return .store(description)
    }
}
