import Testing
@testable import NHIBasics
@testable import NHIStore

/// The PostgreSQL engine's own rules, without a server: the parameter translation, the SQLSTATE mapping, the
/// schema's PostgreSQL texts pinned like SQLite's (issue 18).
@Suite struct PostgresDialectTests {
    func text(_ sql: String, _ arguments: StatementArguments) throws -> (String, [String]) {
        let (text, values) = try PostgresStatement(sql).bind(arguments)
        return (text, values.map { "\($0)" })
    }

    @Test("named parameters become $n once each, in first-use order; ? are numbered in order")
    func namedAndPositional() throws {
        let (named, values) = try text("SELECT * FROM t WHERE a = :a AND b > :b OR a < :a", ["a": 1, "b": "x"])
        #expect(named == "SELECT * FROM t WHERE a = $1 AND b > $2 OR a < $1")
        #expect(values == ["int(1)", "text(\"x\")"])
        let (positional, _) = try text("INSERT INTO t VALUES (?, ?, ?)", [1, 2, 3])
        #expect(positional == "INSERT INTO t VALUES ($1, $2, $3)")
    }

    @Test("quoted strings, quoted identifiers, comments, casts and ':' followed by a digit are left alone")
    func quotedTextIsNotAParameter() throws {
        let sql = "SELECT ':no', \"x:y\", 'it''s :no ?', a::text, '12:30' -- :no ?\n, b /* :no ? */ FROM t WHERE c = :yes"
        let (out, values) = try text(sql, ["yes": "v"])
        #expect(out == "SELECT ':no', \"x:y\", 'it''s :no ?', a::text, '12:30' -- :no ?\n, b /* :no ? */ FROM t WHERE c = $1")
        #expect(values.count == 1)
    }

    /// PostgreSQL cannot type a parameter whose only context is IS NULL beside another use, so the test is decided
    /// from the value: each NULL pattern renders its own text.
    @Test("':x IS NULL' is decided from the bound value; a NULL parameter used only there is not sent")
    func nullTestsAreRenderedFromTheValue() throws {
        let sql = "SELECT * FROM owners WHERE (:status IS NULL OR status = :status) AND (:team IS NOT NULL) ORDER BY id"
        let statement = PostgresStatement(sql)
        let none = try statement.bind(["status": nil, "team": nil])
        #expect(none.text == "SELECT * FROM owners WHERE ( TRUE OR status = $1) AND ( FALSE) ORDER BY id")
        #expect(none.values == [.null])
        let given = try statement.bind(["status": "active", "team": "x"])
        #expect(given.text == "SELECT * FROM owners WHERE ( FALSE OR status = $1) AND ( TRUE) ORDER BY id")
        #expect(given.values == [.text("active")])
        // The first variant is unchanged by the second.
        #expect(try statement.bind(["status": nil, "team": nil]).text == none.text)
    }

    @Test("a missing named argument is an error, as on SQLite, also when it is used only in a null test")
    func missingNamesAreErrors() {
        #expect(throws: DatabaseError.self) { try PostgresStatement("SELECT :a").bind(["b": 1]) }
        #expect(throws: DatabaseError.self) { try PostgresStatement("SELECT 1 WHERE :a IS NULL").bind(["b": 1]) }
        #expect(throws: DatabaseError.self) { try PostgresStatement("SELECT ?, ?").bind([1]) }
    }

    @Test("SQLSTATEs map onto the store's error kinds", arguments: [
        ("40001", StoreErrorKind.retry), ("40P01", .retry), ("55P03", .busy), ("23505", .constraint),
        ("23503", .constraint), ("23514", .constraint), ("23502", .constraint), ("25006", .readOnly),
        ("42501", .readOnly), ("53100", .full), ("08006", .cannotOpen), ("57P01", .cannotOpen), ("42P01", .other),
    ])
    func sqlStates(state: String, kind: StoreErrorKind) {
        #expect(PostgresEngine.kind(sqlState: state) == kind)
    }

    /// Every migration has its PostgreSQL text, version for version, and a shipped text is never edited.
    static let shippedPostgres: [Int32: String] = [
        1: "9b0853bb2a1647f5db64dda01b3ed3742776a145ab6ab34278f596966528db7d",
        2: "773685bbfb0b489537248d08eed41dc77cb81c100b7a603c75e1539166771461",
        3: "1ec80c3275cdbc80c177c9af33254f887cdc396726a250a594b85a6e48f1ad12",
        4: "d642025d5e508f996fbaf01f77529256a10decc79486bde3a7c14c5997c30d53",
        5: "1a57509c45321725fb78d3c6eca6af5283371b6b860fea2f36441d649a1f50c8",
        6: "8d5dd833a91ecf6cad1b9007a778c492a177eeb38afe18cfad0558b409d6e9de",
        7: "68b2fcb0a1aad397f71f2a821c3d8e35a88cac155388ac30e6547781debd43b4",
        8: "6bf47c927c78055160e4f9d26bb7813de5f9dc2b091127a8cc6392cb25df39e6",
    ]

    @Test("every migration has a PostgreSQL text, and the shipped ones are unchanged")
    func postgresMigrationsArePinned() {
        #expect(Schema.postgresMigrations.map(\.version) == Schema.migrations.map(\.version))
        for migration in Schema.postgresMigrations where PostgresDialectTests.shippedPostgres[migration.version] != nil {
            #expect(SHA256.hex(bytes: Array(migration.sql.utf8)) == PostgresDialectTests.shippedPostgres[migration.version],
                    "PostgreSQL migration \(migration.version) was edited after it shipped; add a new migration instead")
        }
        #expect(Schema.postgresMigrations.dropLast().allSatisfy { PostgresDialectTests.shippedPostgres[$0.version] != nil })
    }

    @Test("a PostgreSQL URI is recognised, and shown without its password")
    func uriIsShownWithoutThePassword() {
        #expect(Store.isPostgres("postgresql://u@h/db") && Store.isPostgres("POSTGRES://h/db"))
        #expect(!Store.isPostgres("nhi.db") && !Store.isPostgres("./postgres.db"))
        let shown = Store.shown("postgresql://analyst:s3cr3t-pw@db.example.com:6543/nhi?sslmode=require")
        #expect(shown == "host=db.example.com port=6543 dbname=nhi user=analyst")
        #expect(Store.shown("inventory/nhi.db") == "inventory/nhi.db")
    }
}

/// An engine that answers the first `failures` commits of write transactions with PostgreSQL's serialisation
/// failure (as kind `.retry`), and otherwise is SQLite: what `writeTransaction` does with a retryable error.
private final class FailingCommits: DatabaseEngine {
    let inner: SQLiteEngine
    var failures: Int
    var begins = 0
    init(failures: Int) throws {
        inner = try SQLiteEngine(path: ":memory:", mode: .memory, busyTimeoutMilliseconds: 1000)
        self.failures = failures
    }
    var engineName: String { "test" }
    var dialect: SQLDialect { .sqlite }
    func executeScript(_ sql: String) throws(DatabaseError) { try inner.executeScript(sql) }
    func execute(_ sql: String, _ arguments: StatementArguments) throws(DatabaseError) -> Int { try inner.execute(sql, arguments) }
    func execute(literal sql: StaticString, _ arguments: [SQLValue]) throws(DatabaseError) -> Int { try inner.execute(literal: sql, arguments) }
    func forEachCursor(_ sql: String, _ arguments: StatementArguments, _ body: (Cursor) throws -> Void) throws { try inner.forEachCursor(sql, arguments, body) }
    func forEachRow(_ sql: String, _ arguments: StatementArguments, _ body: (Row) throws -> Void) throws { try inner.forEachRow(sql, arguments, body) }
    func begin(_ kind: TransactionKind) throws(DatabaseError) { begins += 1; try inner.begin(kind) }
    func commit() throws(DatabaseError) {
        if failures > 0 {
            failures -= 1
            throw DatabaseError(kind: .retry, code: 0, message: "could not serialize access [SQLSTATE 40001]", sql: "COMMIT", engine: "test")
        }
        try inner.commit()
    }
    func rollback() { inner.rollback() }
    var lastInsertRowID: Int64 { inner.lastInsertRowID }
}

@Suite struct WriteRetryTests {
    @Test("a serialisation failure or deadlock runs the whole write again; the write lands once")
    func retriedWriteLandsOnce() throws {
        let engine = try FailingCommits(failures: 2)
        let db = Database(engine: engine, path: ":memory:")
        try db.executeScript("CREATE TABLE t (x INTEGER)")
        var runs = 0
        try db.writeTransaction {
            runs += 1
            try db.execute("INSERT INTO t VALUES (1)")
        }
        #expect(runs == 3 && engine.begins == 3)
        #expect(try db.scalar("SELECT count(*) FROM t").int == 1)
    }

    @Test("past five retries the error reaches the caller, and nothing was written")
    func retriesAreBounded() throws {
        let engine = try FailingCommits(failures: 100)
        let db = Database(engine: engine, path: ":memory:")
        try db.executeScript("CREATE TABLE t (x INTEGER)")
        #expect(throws: DatabaseError.self) { try db.writeTransaction { try db.execute("INSERT INTO t VALUES (1)") } }
        #expect(engine.begins == 6)
        #expect(try db.scalar("SELECT count(*) FROM t").int == 0)
    }
}
