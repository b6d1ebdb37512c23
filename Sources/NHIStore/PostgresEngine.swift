import NHIBasics
import NHIPostgres

/// The PostgreSQL engine behind the store seam (issue 18): one libpq connection, statements in nhi's SQL with
/// `:name` and `?` parameters translated once per statement text to `$n`, values beside the SQL, PostgreSQL's
/// SQLSTATEs mapped onto `StoreErrorKind`. A write transaction takes one advisory lock first, so writers on every
/// machine append to the audit chain one after another (Docs/postgres.md).
package final class PostgresEngine: DatabaseEngine {
    let connection: PGConnection
    /// Statement text -> its PostgreSQL text and parameter names, translated once per process.
    private var translated: [String: PostgresStatement] = [:]
    /// Where the connection went, without the password: what messages name.
    package let target: PGConnectionTarget
    /// The schema the store's tables are in (`current_schema()`), quoted, for the few statements that must name it.
    package let schema: String

    /// The key of the advisory lock every write transaction takes before anything else: writers queue on it as
    /// SQLite's writers queue on BEGIN IMMEDIATE, so the audit head read in a write is the head it appends to.
    package static let writeLockKey = PGConnection.advisoryKey("nhi.store.write")

    package var engineName: String { "PostgreSQL" }
    package var dialect: SQLDialect { .postgres }

    /// The URI as given, for a second connection only: never shown (it may hold the password).
    private let uri: String

    package init(uri: String) throws(DatabaseError) {
        self.uri = uri
        do {
            connection = try PGConnection(uri)
            let name: String? = try connection.exec("SELECT current_schema() AS name").first?.get("name")
            guard let name else {
                throw PGError(kind: .other, message: "no schema to create the store in (the search_path names none that exists)")
            }
            schema = try PGConnection.quoted(identifier: name)
        } catch let error as PGError {
            throw PostgresEngine.storeError(error)
        } catch {
            throw DatabaseError(kind: .other, code: 0, message: "\(error)", sql: nil, engine: "PostgreSQL")
        }
        target = connection.target
    }

    /// Another connection to the same server, database and schema.
    package func connectAgain() throws(DatabaseError) -> PostgresEngine { try PostgresEngine(uri: uri) }

    /// The statement for `sql`, translated on first use.
    private func statement(_ sql: String) -> PostgresStatement {
        if let known = translated[sql] { return known }
        let made = PostgresStatement(sql)
        translated[sql] = made
        return made
    }

    private func run(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> PGResult {
        let (text, values) = try statement(sql).bind(arguments)
        do {
            return try connection.exec(text, params: values)
        } catch {
            throw PostgresEngine.storeError(error, sql: sql)
        }
    }

    package func executeScript(_ sql: String) throws(DatabaseError) {
        do { try connection.execScript(sql) } catch { throw PostgresEngine.storeError(error, sql: sql) }
    }

    package func execute(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> Int {
        try run(sql, arguments).rowsAffected
    }

    package func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int {
        try execute(sql.description, .positional(arguments))
    }

    package func forEachRow(_ sql: String, _ arguments: StatementArguments, _ body: (Row) throws -> Void) throws {
        var layout: RowLayout?
        try forEachBatch(sql, arguments) { result, kinds in
            let names = layout ?? RowLayout(names: result.columns.names)
            layout = names
            for row in 0..<result.rowCount {
                try body(Row(layout: names, values: PostgresEngine.values(result, row: row, kinds: kinds)))
            }
        }
    }

    /// The row is read in place: a column becomes a value only when the body reads it (the state scan reads a
    /// few of a token's columns for most rows).
    package func forEachCursor(_ sql: String, _ arguments: StatementArguments, _ body: (Cursor) throws -> Void) throws {
        try forEachBatch(sql, arguments) { result, kinds in
            let current = PostgresRow(result: result, kinds: kinds)
            try withExtendedLifetime(current) {
                for row in 0..<result.rowCount {
                    current.index = row
                    try body(Cursor(values: current))
                }
            }
        }
    }

    package func allRows(_ sql: String, _ arguments: StatementArguments) throws -> [Row] {
        let result = try run(sql, arguments)
        let layout = RowLayout(names: result.columns.names)
        let kinds = PostgresEngine.kinds(result)
        return (0..<result.rowCount).map { Row(layout: layout, values: PostgresEngine.values(result, row: $0, kinds: kinds)) }
    }

    /// Rows a FETCH reads: a batch is held at a time (a few MB of tokens), and a million rows are a few hundred
    /// round trips.
    static let fetchRows = 4096
    /// Names each open scan's cursor: a body may start another scan.
    private var cursors = 0

    /// A query's rows, a batch at a time. Inside a transaction a SELECT goes through a cursor, FETCHed
    /// `fetchRows` at a time: memory stays flat at a million rows, and the body may run statements of its own on
    /// this connection between FETCHes (libpq allows nothing else while a query's rows are arriving). Outside a
    /// transaction (a cursor lives in one), or for another statement, the rows come whole.
    private func forEachBatch(_ sql: String, _ arguments: StatementArguments,
                              _ body: (PGResult, [ValueKind]) throws -> Void) throws {
        guard connection.isInTransaction, PostgresEngine.isSelect(sql) else {
            let result = try run(sql, arguments)
            return try body(result, PostgresEngine.kinds(result))
        }
        let (text, values) = try statement(sql).bind(arguments)
        cursors += 1
        let name = "nhi_scan_\(cursors)"
        defer { cursors -= 1 }
        do { try connection.exec("DECLARE \(name) NO SCROLL CURSOR FOR \(text)", params: values) } catch {
            throw PostgresEngine.storeError(error, sql: sql)
        }
        var open = true
        defer { if open { _ = try? connection.exec("CLOSE \(name)") } }
        let fetch = "FETCH FORWARD \(PostgresEngine.fetchRows) FROM \(name)"
        var kinds: [ValueKind]?
        while true {
            let batch: PGResult
            do { batch = try connection.exec(fetch) } catch {
                open = false  // the transaction is aborted: CLOSE would fail too
                throw PostgresEngine.storeError(error, sql: sql)
            }
            let known = kinds ?? PostgresEngine.kinds(batch)
            kinds = known
            try body(batch, known)
            if batch.rowCount < PostgresEngine.fetchRows { break }
        }
    }

    /// Whether a statement is a plain SELECT (what a cursor can run): after leading blanks, the word SELECT.
    static func isSelect(_ sql: String) -> Bool {
        let bytes = sql.utf8.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
        let word = Array("select".utf8)
        guard bytes.count > word.count else { return false }
        return zip(bytes.prefix(word.count), word).allSatisfy { $0 | 0x20 == $1 }
            && !PostgresStatement.isNameByte(bytes[bytes.index(bytes.startIndex, offsetBy: word.count)])
    }

    package func begin(_ kind: TransactionKind) throws(DatabaseError) {
        do {
            switch kind {
            case .write:
                try connection.exec("BEGIN ISOLATION LEVEL READ COMMITTED")
                try connection.advisoryTransactionLock(PostgresEngine.writeLockKey)
            case .read:
                // One snapshot for the whole read, as SQLite's read transaction gives; not READ ONLY: an as-of read
                // creates TEMP views, which a read-only transaction refuses.
                try connection.exec("BEGIN ISOLATION LEVEL REPEATABLE READ")
            }
        } catch {
            if connection.isInTransaction { _ = try? connection.exec("ROLLBACK") }
            throw PostgresEngine.storeError(error)
        }
    }

    package func commit() throws(DatabaseError) {
        let tag: String
        do { tag = try connection.exec("COMMIT").commandTag } catch { throw PostgresEngine.storeError(error, sql: "COMMIT") }
        guard tag == "COMMIT" else {
            throw DatabaseError(kind: .other, code: 0, message: "the transaction was rolled back: a statement in it failed",
                                sql: "COMMIT", engine: "PostgreSQL")
        }
    }

    package func rollback() {
        if connection.isInTransaction { _ = try? connection.exec("ROLLBACK") }
    }

    /// The value the last INSERT drew from an identity column (`lastval()`), as SQLite's rowid of the new row.
    package var lastInsertRowID: Int64 {
        ((try? connection.exec("SELECT lastval() AS id").first?.get("id", as: Int64.self)) ?? nil) ?? 0
    }

    /// COPY FROM STDIN: the rows stream to the server in one statement, without a statement text to parse per row
    /// or parameters to bind.
    package func insertRows(into table: String, columns: [String], values: [SQLValue]) throws(DatabaseError) -> Int {
        guard !columns.isEmpty, !values.isEmpty else { return 0 }
        precondition(values.count % columns.count == 0, "\(values.count) values are not whole rows of \(columns.count) columns")
        let sql = "COPY \(SQLName.quoted(table)) (\(columns.map(SQLName.quoted).joined(separator: ", "))) FROM STDIN"
        do {
            return try connection.copyIn(sql) { rows in
                var column = 0
                for value in values {
                    try rows.append(PostgresEngine.parameter(value))
                    column += 1
                    if column == columns.count {
                        try rows.endRow()
                        column = 0
                    }
                }
            }
        } catch {
            throw PostgresEngine.storeError(error, sql: sql)
        }
    }

    /// A store value as a libpq value.
    static func parameter(_ value: SQLValue) -> PGValue {
        switch value {
        case .null: .null
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .text(let t): .text(t)
        }
    }

    // MARK: Values

    enum ValueKind { case int, double, bool, numeric, text }

    /// How each column's text is read, from its type OID (pg_type.dat numbers, fixed since PostgreSQL 7).
    static func kinds(_ result: PGResult) -> [ValueKind] {
        (0..<result.columnCount).map { column in
            switch result.typeOID(at: column) {
            case 20, 21, 23, 26: .int  // int8, int2, int4, oid
            case 700, 701: .double  // float4, float8
            case 16: .bool
            case 1700: .numeric  // sum() of bigint is numeric
            default: .text
            }
        }
    }

    static func values(_ result: PGResult, row: Int, kinds: [ValueKind]) -> [SQLValue] {
        kinds.enumerated().map { column, kind in value(result, row: row, column: column, kind: kind) }
    }

    /// One cell as a store value, by its column's kind.
    static func value(_ result: PGResult, row: Int, column: Int, kind: ValueKind) -> SQLValue {
            result.withText(row: row, column: column) { text -> SQLValue in
                switch kind {
                case .int:
                    return (try? Int64.decode(text: text, column: "")).map(SQLValue.int) ?? .text(String(decoding: text, as: UTF8.self))
                case .double:
                    return (try? Double.decode(text: text, column: "")).map(SQLValue.double) ?? .null
                case .bool:
                    // SQLite has no booleans: a comparison reads as 1 or 0.
                    return .int(text.first == UInt8(ascii: "t") ? 1 : 0)
                case .numeric:
                    if let int = try? Int64.decode(text: text, column: "") { return .int(int) }
                    return (try? Double.decode(text: text, column: "")).map(SQLValue.double) ?? .text(String(decoding: text, as: UTF8.self))
                case .text:
                    return .text(String(decoding: text, as: UTF8.self))
                }
            } ?? .null
    }

    // MARK: Errors

    /// A PGError as the store's error: the kind from the SQLSTATE, the server's message (libpq's for a connection,
    /// which names host and database, never the password).
    static func storeError(_ error: any Error, sql: String? = nil) -> DatabaseError {
        guard let error = error as? PGError else {
            return (error as? DatabaseError) ?? DatabaseError(kind: .other, code: 0, message: "\(error)", sql: sql, engine: "PostgreSQL")
        }
        var message = error.message
        if let detail = error.detail { message += " (\(detail))" }
        if let state = error.sqlState { message = "\(message) [SQLSTATE \(state)]" }
        return DatabaseError(kind: kind(error), code: 0, message: message, sql: error.sql ?? sql, engine: "PostgreSQL")
    }

    static func kind(_ error: PGError) -> StoreErrorKind {
        if error.kind == .connectionFailure { return .cannotOpen }
        if error.kind == .columnNotFound || error.kind == .misuse { return .misuse }
        guard let state = error.sqlState else { return .other }
        return kind(sqlState: state)
    }

    /// SQLSTATE -> kind (PostgreSQL's Appendix A, "PostgreSQL Error Codes").
    package static func kind(sqlState state: String) -> StoreErrorKind {
        switch state {
        case "40001", "40P01": return .retry  // serialization_failure, deadlock_detected
        case "55P03": return .busy  // lock_not_available (lock_timeout)
        case "25006", "42501": return .readOnly  // read_only_sql_transaction, insufficient_privilege
        case "53100": return .full  // disk_full
        default:
            if state.hasPrefix("23") { return .constraint }  // integrity_constraint_violation
            if state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03" { return .cannotOpen }
            return .other
        }
    }
}

/// The current row of a result, read in place by a cursor: a text column's bytes are libpq's, without a String.
final class PostgresRow: CursorValues {
    let result: PGResult
    let kinds: [PostgresEngine.ValueKind]
    var index = 0

    init(result: PGResult, kinds: [PostgresEngine.ValueKind]) {
        self.result = result
        self.kinds = kinds
        super.init(Row(columns: [], values: []))
    }

    override func value(_ column: Int) -> SQLValue {
        PostgresEngine.value(result, row: index, column: column, kind: kinds[column])
    }

    override func isNull(_ column: Int) -> Bool { result.isNull(row: index, column: column) }

    override func bytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R? {
        guard kinds[column] == .text else { return nil }
        return try result.withText(row: index, column: column) { try body(UnsafeRawBufferPointer($0)) }
    }
}

/// A statement's PostgreSQL text: nhi's `:name` and `?` parameters numbered `$1`, `$2`, ... (a name used twice is
/// one number), skipping quoted strings, quoted identifiers, comments and `::` casts. Parsed once per statement text.
///
/// `:name IS NULL` (and `IS NOT NULL`) becomes TRUE or FALSE from the bound value: PostgreSQL cannot type a
/// parameter whose only context is IS NULL beside another use ("could not determine data type of parameter"), and
/// the optional filters (`:owner IS NULL OR owner_id = :owner`) are written that way. So the text depends on which
/// of those parameters are NULL; each variant is rendered once and kept.
package final class PostgresStatement {
    enum Piece {
        case sql([UInt8])
        /// A parameter: its name, or "" and its position among the `?`s.
        case parameter(String, Int)
        case nullTest(String, negated: Bool)
    }
    let pieces: [Piece]
    /// Names used in a null test, in order: bit i of a variant's key is set when the i-th is NULL.
    let nullTested: [String]
    /// How many `?` the statement has.
    let positionalCount: Int
    private var variants: [Int: (text: String, slots: [Slot])] = [:]

    enum Slot { case named(String), positional(Int) }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F
    }

    package init(_ sql: String) {
        let bytes = Array(sql.utf8)
        var pieces: [Piece] = []
        var out: [UInt8] = []
        var tested: [String] = []
        var positional = 0
        var i = 0
        let isNameByte = PostgresStatement.isNameByte
        func flush() {
            if !out.isEmpty { pieces.append(.sql(out)); out = [] }
        }
        /// The length of ` IS NULL` / ` IS NOT NULL` at `at` (case-insensitive words), and whether it is NOT.
        func nullTest(at start: Int) -> (length: Int, negated: Bool)? {
            var j = start
            func skipSpace() -> Bool {
                let from = j
                while j < bytes.count, bytes[j] == 0x20 || bytes[j] == 0x0A || bytes[j] == 0x09 || bytes[j] == 0x0D { j += 1 }
                return j > from
            }
            func word(_ w: String) -> Bool {
                let letters = Array(w.utf8)
                guard j + letters.count <= bytes.count,
                      zip(bytes[j..<j + letters.count], letters).allSatisfy({ $0 | 0x20 == $1 }),
                      j + letters.count == bytes.count || !isNameByte(bytes[j + letters.count]) else { return false }
                j += letters.count
                return true
            }
            guard skipSpace(), word("is"), skipSpace() else { return nil }
            var negated = false
            if word("not") { negated = true; guard skipSpace() else { return nil } }
            guard word("null") else { return nil }
            return (j - start, negated)
        }
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                out.append(b); i += 1
                while i < bytes.count {
                    out.append(bytes[i])
                    if bytes[i] == b {
                        // A doubled quote is one quote inside the literal.
                        if i + 1 < bytes.count, bytes[i + 1] == b { out.append(b); i += 2; continue }
                        i += 1
                        break
                    }
                    i += 1
                }
            case UInt8(ascii: "-") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "-"):
                while i < bytes.count, bytes[i] != UInt8(ascii: "\n") { out.append(bytes[i]); i += 1 }
            case UInt8(ascii: "/") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "*"):
                var end = i + 2
                while end + 1 < bytes.count, !(bytes[end] == UInt8(ascii: "*") && bytes[end + 1] == UInt8(ascii: "/")) { end += 1 }
                end = min(bytes.count, end + 2)
                out.append(contentsOf: bytes[i..<end])
                i = end
            case UInt8(ascii: ":") where i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: ":"):
                out.append(b); out.append(b); i += 2
            case UInt8(ascii: ":") where i + 1 < bytes.count && isNameByte(bytes[i + 1]) && !(bytes[i + 1] >= 0x30 && bytes[i + 1] <= 0x39):
                var end = i + 1
                while end < bytes.count, isNameByte(bytes[end]) { end += 1 }
                let name = String(decoding: bytes[(i + 1)..<end], as: UTF8.self)
                flush()
                if let test = nullTest(at: end) {
                    if !tested.contains(name) { tested.append(name) }
                    pieces.append(.nullTest(name, negated: test.negated))
                    i = end + test.length
                } else {
                    pieces.append(.parameter(name, 0))
                    i = end
                }
            case UInt8(ascii: "?"):
                flush()
                pieces.append(.parameter("", positional))
                positional += 1
                i += 1
            default:
                out.append(b)
                i += 1
            }
        }
        flush()
        self.pieces = pieces
        self.nullTested = tested
        self.positionalCount = positional
    }

    /// The text for these arguments and the values of its `$n` in order. A named statement must be given each
    /// name it uses (as on SQLite).
    package func bind(_ arguments: StatementArguments) throws(DatabaseError) -> (text: String, values: [PGValue]) {
        var key = 0
        switch arguments {
        case .positional(let list):
            guard list.count == positionalCount, nullTested.isEmpty || list.isEmpty else {
                throw DatabaseError(kind: .misuse, code: 0, message: "the statement takes \(positionalCount) positional arguments, \(list.count) given",
                                    sql: nil, engine: "PostgreSQL")
            }
        case .named(let dictionary):
            for (bit, name) in nullTested.enumerated() where dictionary[name] == .null { key |= 1 << bit }
        }
        let variant = render(key)
        let values = try variant.slots.map { slot throws(DatabaseError) -> PGValue in
            switch (slot, arguments) {
            case (.positional(let index), .positional(let list)): return PostgresEngine.parameter(list[index])
            case (.named(let name), .named(let dictionary)):
                guard let given = dictionary[name] else {
                    throw DatabaseError(kind: .misuse, code: 0, message: "no value for the statement's parameter :\(name)",
                                        sql: variant.text, engine: "PostgreSQL")
                }
                return PostgresEngine.parameter(given)
            default:
                throw DatabaseError(kind: .misuse, code: 0, message: "the statement mixes named and positional parameters",
                                    sql: variant.text, engine: "PostgreSQL")
            }
        }
        // A name given only in a null test must still be given.
        if case .named(let dictionary) = arguments, let missing = nullTested.first(where: { dictionary[$0] == nil }) {
            throw DatabaseError(kind: .misuse, code: 0, message: "no value for the statement's parameter :\(missing)",
                                sql: variant.text, engine: "PostgreSQL")
        }
        return (variant.text, values)
    }

    private func render(_ key: Int) -> (text: String, slots: [Slot]) {
        if let known = variants[key] { return known }
        var text: [UInt8] = []
        var slots: [Slot] = []
        var numbers: [String: Int] = [:]
        for piece in pieces {
            switch piece {
            case .sql(let bytes): text.append(contentsOf: bytes)
            case .nullTest(let name, let negated):
                let isNull = key & (1 << nullTested.firstIndex(of: name)!) != 0
                text.append(contentsOf: Array((isNull != negated ? " TRUE" : " FALSE").utf8))
            case .parameter(let name, let index):
                let number: Int
                if !name.isEmpty, let known = numbers[name] {
                    number = known
                } else {
                    slots.append(name.isEmpty ? .positional(index) : .named(name))
                    number = slots.count
                    if !name.isEmpty { numbers[name] = number }
                }
                text.append(contentsOf: Array("$\(number)".utf8))
            }
        }
        let made = (String(decoding: text, as: UTF8.self), slots)
        variants[key] = made
        return made
    }
}
