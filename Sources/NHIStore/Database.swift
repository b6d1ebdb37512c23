import NHIBasics

/// What a store engine does: the seam between nhi and SQLite (the embedded default) or another engine. Everything
/// above NHIStore talks to `Database`, which forwards here; an engine is added by conforming to this protocol,
/// without touching rules, reports or output.
public protocol DatabaseEngine: AnyObject {
    /// How messages name the engine ("SQLite").
    var engineName: String { get }
    var dialect: SQLDialect { get }
    /// Runs statements that take no arguments (schema, pragmas), several separated by `;`.
    func executeScript(_ sql: String) throws(DatabaseError)
    /// Runs one statement; returns the number of rows changed.
    func execute(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> Int
    /// `execute` for SQL written as a literal, run once per row of a bulk write (engines may cache by address).
    func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int
    /// Calls `body` with a cursor on each row (valid only inside the body).
    func forEachCursor(_ sql: String, _ arguments: StatementArguments, _ body: (Cursor) throws -> Void) throws
    /// Calls `body` with each row as values, by column name.
    func forEachRow(_ sql: String, _ arguments: StatementArguments, _ body: (Row) throws -> Void) throws
    /// Every row of a statement at once (`Database.rows`, `row`, `scalar`: small results, or ones kept whole anyway).
    func allRows(_ sql: String, _ arguments: StatementArguments) throws -> [Row]
    func begin(_ kind: TransactionKind) throws(DatabaseError)
    func commit() throws(DatabaseError)
    func rollback()
    /// The integer key of the row the last INSERT made (SQLite's rowid).
    var lastInsertRowID: Int64 { get }
    /// Writes rows into `table`: `values` holds them one after another, `columns.count` values a row. All or
    /// nothing: when the store refuses one row, the error is thrown and none of them is kept (inside a transaction,
    /// PostgreSQL's is then aborted: run it under `Database.undoingOnlyThis`). Returns the rows written.
    func insertRows(into table: String, columns: [String], values: [SQLValue]) throws(DatabaseError) -> Int
}

extension DatabaseEngine {
    public func allRows(_ sql: String, _ arguments: StatementArguments) throws -> [Row] {
        var result: [Row] = []
        try forEachRow(sql, arguments) { result.append($0) }
        return result
    }

    /// Multi-row INSERTs: many rows a statement (one round trip), under SQLite's and PostgreSQL's limits on the
    /// parameters of one statement.
    public func insertRows(into table: String, columns: [String], values: [SQLValue]) throws(DatabaseError) -> Int {
        try insertRowsByStatements(into: table, columns: columns, values: values)
    }

    package func insertRowsByStatements(into table: String, columns: [String], values: [SQLValue]) throws(DatabaseError) -> Int {
        guard !columns.isEmpty, !values.isEmpty else { return 0 }
        precondition(values.count % columns.count == 0, "\(values.count) values are not whole rows of \(columns.count) columns")
        let rows = values.count / columns.count
        let perStatement = SQLName.rowsPerInsert(columns: columns.count)
        let head = "INSERT INTO \(SQLName.quoted(table)) (\(columns.map(SQLName.quoted).joined(separator: ", "))) VALUES "
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var written = 0
        var fullText: String?
        while written < rows {
            let count = min(perStatement, rows - written)
            let sql: String
            if count == perStatement, let known = fullText {
                sql = known
            } else {
                sql = head + Array(repeating: tuple, count: count).joined(separator: ", ")
                if count == perStatement { fullText = sql }
            }
            let slice = Array(values[(written * columns.count)..<((written + count) * columns.count)])
            _ = try execute(sql, .positional(slice))
            written += count
        }
        return rows
    }
}

/// Names in SQL text: table and column names that come from the schema itself, never from user data.
package enum SQLName {
    /// `"name"`, inner quotes doubled: the same on SQLite and PostgreSQL.
    package static func quoted(_ name: String) -> String { "\"" + name.replacing("\"", with: "\"\"") + "\"" }

    /// Rows per multi-row INSERT: under SQLite's (32,766) and PostgreSQL's (65,535) parameters a statement.
    package static func rowsPerInsert(columns: Int) -> Int { max(1, min(256, 16_000 / max(1, columns))) }
}

/// The SQL spoken by an engine, for the few statements that differ (pragmas, planner hints, upserts).
public enum SQLDialect: Sendable, Equatable {
    case sqlite
    case postgres

    /// SQLite's hint to scan a table in storage order (` NOT INDEXED` after the table); PostgreSQL takes no hints.
    public var notIndexed: String { self == .sqlite ? " NOT INDEXED" : "" }
    /// `column` in a condition that no index is to serve: SQLite's unary `+`, which (unlike NOT INDEXED) holds through
    /// a view, as the as-of views are (Docs/history.md); PostgreSQL takes no hints.
    public func unindexed(_ column: String) -> String { self == .sqlite ? "+" + column : column }
}

public enum TransactionKind: Sendable {
    /// Takes the write lock up front (SQLite BEGIN IMMEDIATE): a deferred transaction that later upgrades can hit a
    /// busy error no timeout cures.
    case write
    /// A consistent snapshot for reading.
    case read
}

/// One connection to a store. All SQL in nhi goes through this type (and the store types built on it).
public final class Database {
    package let engine: any DatabaseEngine
    /// The engine again when it is SQLite, for the inlinable scan path (`forEachCursor`).
    let sqlite: SQLiteEngine?
    public let path: String
    public private(set) var inTransaction = false
    /// The instant this connection's reads show the inventory as recorded at, once `History.installAsOf` has shadowed
    /// its tables with views of the past (nil: the current rows).
    package var historyInstant: Instant?

    /// `readOnlyImmutable`: read-only and never locked nor journalled (SQLite's `immutable=1`), for a file nobody
    /// can change: a write-protected evidence copy in a read-only directory, where no -wal or -shm can be made.
    public enum OpenMode: Sendable { case readWrite, readWriteCreate, memory, readOnly, readOnlyImmutable }

    /// A SQLite connection (the embedded default).
    public convenience init(path: String, mode: OpenMode, busyTimeoutMilliseconds: Int32 = 10_000) throws(DatabaseError) {
        self.init(engine: try SQLiteEngine(path: path, mode: mode, busyTimeoutMilliseconds: busyTimeoutMilliseconds), path: path)
    }

    /// A PostgreSQL connection (a libpq URI, `postgresql://...`). `path` is the target without the password.
    public convenience init(postgres uri: String) throws(DatabaseError) {
        let engine = try PostgresEngine(uri: uri)
        self.init(engine: engine, path: engine.target.description)
    }

    public init(engine: any DatabaseEngine, path: String) {
        self.engine = engine
        self.sqlite = engine as? SQLiteEngine
        self.path = path
    }

    public var dialect: SQLDialect { engine.dialect }

    /// A second connection to the same store, for work on another thread (a report's concurrent audit check).
    public func secondConnection() throws(DatabaseError) -> Database {
        if let postgres = engine as? PostgresEngine { return Database(engine: try postgres.connectAgain(), path: path) }
        return try Database(path: path, mode: .readWrite)
    }

    /// How SQL names the store's own schema, past a temporary object of the same name: `main` on SQLite, the
    /// connection's current schema on PostgreSQL.
    public var mainSchema: String { (engine as? PostgresEngine)?.schema ?? "main" }
    /// The schema of this connection's temporary objects (`temp`; PostgreSQL's `pg_temp`).
    public var tempSchema: String { dialect == .postgres ? "pg_temp" : "temp" }

    @discardableResult
    public func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int {
        try engine.execute(literal: sql, arguments)
    }

    public func executeScript(_ sql: String) throws(DatabaseError) { try engine.executeScript(sql) }

    @discardableResult
    public func execute(_ sql: String, _ arguments: StatementArguments = .none) throws(DatabaseError) -> Int {
        try engine.execute(sql, arguments)
    }

    @discardableResult
    public func execute(_ sql: String, _ arguments: [SQLValue]) throws(DatabaseError) -> Int {
        try engine.execute(sql, .positional(arguments))
    }

    /// Calls `body` for each row, without collecting them (for large reports and exports).
    public func forEachRow(_ sql: String, _ arguments: StatementArguments = .none, _ body: (Row) throws -> Void) throws {
        try engine.forEachRow(sql, arguments, body)
    }

    public func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws {
        try forEachRow(sql, .positional(arguments), body)
    }

    /// Calls `body` with a cursor on each row, read by position without copying the row into values: for scans of
    /// a million rows whose columns the caller knows (the derived-state scan reads them through a `ColumnLayout`).
    ///
    /// Inlinable, with SQLite's stepping reached directly, so a scan's body is inlined into the scan in the caller's
    /// module: the state scan calls it once per token (without this, check at 100k ran 3.5% more instructions).
    @inlinable
    public func forEachCursor(_ sql: String, _ arguments: StatementArguments = .none, _ body: (Cursor) throws -> Void) throws {
        guard let handle = try startSQLiteScan(sql, arguments) else { return try forEachEngineCursor(sql, arguments, body) }
        defer { endSQLiteScan(handle) }
        let cursor = Cursor(sqlite: handle)
        while try stepSQLiteScan(handle, sql: sql) {
            try body(cursor)
        }
    }

    /// The bound statement when the engine is SQLite; nil for another engine.
    @usableFromInline func startSQLiteScan(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> OpaquePointer? {
        try sqlite?.startScan(sql, arguments)
    }

    @usableFromInline func stepSQLiteScan(_ handle: OpaquePointer, sql: String) throws(DatabaseError) -> Bool {
        try sqlite!.step(handle, sql: sql)
    }

    @usableFromInline func endSQLiteScan(_ handle: OpaquePointer) { sqlite?.endScan(handle) }

    @usableFromInline func forEachEngineCursor(_ sql: String, _ arguments: StatementArguments, _ body: (Cursor) throws -> Void) throws {
        try engine.forEachCursor(sql, arguments, body)
    }

    @inlinable
    public func forEachCursor(_ sql: String, _ arguments: [SQLValue], _ body: (Cursor) throws -> Void) throws {
        try forEachCursor(sql, .positional(arguments), body)
    }

    public func rows(_ sql: String, _ arguments: StatementArguments = .none) throws -> [Row] {
        try engine.allRows(sql, arguments)
    }

    public func rows(_ sql: String, _ arguments: [SQLValue]) throws -> [Row] { try rows(sql, .positional(arguments)) }

    /// The first row, or nil.
    public func row(_ sql: String, _ arguments: StatementArguments = .none) throws -> Row? {
        if sqlite == nil { return try engine.allRows(sql, arguments).first }
        var result: Row?
        try engine.forEachRow(sql, arguments) { row in
            if result == nil { result = row }
        }
        return result
    }

    public func row(_ sql: String, _ arguments: [SQLValue]) throws -> Row? { try row(sql, .positional(arguments)) }

    public func scalar(_ sql: String, _ arguments: StatementArguments = .none) throws -> SQLValue {
        try row(sql, arguments)?.values.first ?? .null
    }

    public func scalar(_ sql: String, _ arguments: [SQLValue]) throws -> SQLValue { try scalar(sql, .positional(arguments)) }

    /// A write transaction: the write lock is taken up front.
    /// A serialisation failure or deadlock (PostgreSQL) runs the whole transaction again, a few times, as SQLite's
    /// busy timeout waits for a lock.
    public func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        precondition(!inTransaction, "nested transaction")
        var attempt = 0
        while true {
            do {
                return try transaction(.write, body)
            } catch let error as DatabaseError where error.kind == .retry && attempt < 5 {
                attempt += 1
            }
        }
    }

    /// A read transaction, so a report sees one consistent snapshot.
    public func readTransaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        return try transaction(.read, body)
    }

    /// Commits when `body` returns, rolls back when it throws; the first error is the one rethrown.
    private func transaction<T>(_ kind: TransactionKind, _ body: () throws -> T) throws -> T {
        try engine.begin(kind)
        inTransaction = true
        defer { inTransaction = false }
        do {
            let value = try body()
            try engine.commit()
            return value
        } catch {
            engine.rollback()
            throw error
        }
    }

    public var lastInsertRowID: Int64 { engine.lastInsertRowID }

    /// Writes many rows at once (`DatabaseEngine.insertRows`): COPY on PostgreSQL, multi-row INSERTs on SQLite.
    @discardableResult
    public func insertRows(into table: String, columns: [String], values: [SQLValue]) throws(DatabaseError) -> Int {
        try engine.insertRows(into: table, columns: columns, values: values)
    }

    /// A round trip per statement is what a bulk write costs on a server: there, an import gathers its new rows
    /// and writes them a batch at a time (`insertRows`). SQLite runs each statement in-process.
    public var writesInBatches: Bool { dialect == .postgres }

    /// Runs `body` inside a write so that, when it throws, only its own statements are undone and the transaction
    /// goes on (a refused insert-first, one bad record of an import). SQLite backs out a failed statement alone;
    /// PostgreSQL aborts the whole transaction on any error unless the statements ran under a savepoint.
    public func undoingOnlyThis<T>(_ body: () throws -> T) throws -> T {
        guard dialect == .postgres, inTransaction else { return try body() }
        try engine.executeScript("SAVEPOINT nhi_step")
        do {
            let value = try body()
            try engine.executeScript("RELEASE SAVEPOINT nhi_step")
            return value
        } catch {
            try? engine.executeScript("ROLLBACK TO SAVEPOINT nhi_step; RELEASE SAVEPOINT nhi_step")
            throw error
        }
    }
}

/// The current row of a statement being stepped, read by column position. Valid only inside the body of
/// `Database.forEachCursor`. SQLite's rows are read in place on the statement; another engine hands its row over as
/// values. Two plain pointers and no reference counting: a scan passes the cursor to its body a million times.
public struct Cursor {
    @usableFromInline let handle: OpaquePointer?
    /// Another engine's row (a `CursorValues`, not retained: the engine holds it while the body runs).
    @usableFromInline let values: UnsafeMutableRawPointer?

    @usableFromInline init(sqlite handle: OpaquePointer) {
        self.handle = handle
        self.values = nil
    }

    /// `values` must outlive every use of the cursor (the engine holds it while the body runs).
    public init(values: CursorValues) {
        self.handle = nil
        self.values = Unmanaged.passUnretained(values).toOpaque()
    }

    @usableFromInline var engineRow: CursorValues { Unmanaged<CursorValues>.fromOpaque(values!).takeUnretainedValue() }

    @usableFromInline func value(_ index: Int32) -> SQLValue { engineRow.value(Int(index)) }

    // Inlinable: the state scan (another module) reads each row's columns through these.
    @inlinable @inline(__always) public func isNull(_ index: Int32) -> Bool {
        if let handle { return SQLiteColumn.isNull(handle, index) }
        return engineRow.isNull(Int(index))
    }

    @inlinable @inline(__always) public func int(_ index: Int32) -> Int64? {
        if let handle { return SQLiteColumn.int(handle, index) }
        return value(index).int
    }

    @inlinable public func text(_ index: Int32) -> String? {
        if let handle { return SQLiteColumn.text(handle, index) }
        return value(index).text
    }

    @inlinable public func string(_ index: Int32) -> String { text(index) ?? "" }

    /// The column's text as bytes, without making a String; nil when it is NULL.
    @inlinable @inline(__always) public func withBytes<R>(_ index: Int32, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        if let handle { return try SQLiteColumn.withBytes(handle, index, body) }
        return try engineRow.bytes(Int(index), body)
    }
}

/// The current row of another engine's statement, read by a cursor (the engine subclasses it, e.g. to read a
/// column in place only when asked). As values here: a text column's bytes are its String's.
public class CursorValues {
    public var row: Row
    public init(_ row: Row) { self.row = row }

    @usableFromInline func value(_ index: Int) -> SQLValue { row.values[index] }
    @usableFromInline func isNull(_ index: Int) -> Bool { value(index) == .null }
    /// The column's text as bytes (nil when it is not text), valid only inside `body`.
    @usableFromInline func bytes<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard case .text(var text) = value(index) else { return nil }
        return try text.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// The column names of a statement's result, shared by all its rows: looking a name up is one hash, and a row
/// carries no copy of the names (at a million rows, per-row name arrays and linear searches dominated reports).
///
/// A name is found through a small open-addressing table keyed by a cheap hash of its bytes: the state query
/// looked up about 30 names per row, and with a `[String: Int]` the SipHash of each name was 17% of a report's
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

/// A row read from a statement, by column name or position. Reading a column the result does not have throws
/// (as GRDB's Row does), so a misspelt or dropped column is an error instead of a silent NULL.
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

    public func value(_ name: String) throws(DatabaseError) -> SQLValue {
        guard let i = layout.position(of: name) else {
            throw DatabaseError(kind: .misuse, code: 0, message: "no column '\(name)' in the result (columns: \(layout.names.joined(separator: ", ")))",
                                sql: nil, engine: "nhi")
        }
        return values[i]
    }

    public func text(_ name: String) throws(DatabaseError) -> String? { try value(name).text }
    public func int(_ name: String) throws(DatabaseError) -> Int64? { try value(name).int }
    public func string(_ name: String) throws(DatabaseError) -> String { try value(name).text ?? "" }
}
