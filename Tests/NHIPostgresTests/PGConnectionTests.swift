import Foundation
import NHIPostgres
import Testing

extension PostgresTests {
    @Suite struct Connection {
        @Test func connectsOverTheUnixSocketAndNamesItsTarget() throws {
            let scratch = try PostgresCluster.scratch()
            let db = try scratch.connect()
            let row = try #require(try db.exec("SELECT current_database() AS db, current_user AS who").first)
            #expect(try row.get("db", as: String.self) == "nhitest")
            #expect(try row.get("who", as: String.self) == "postgres")
            #expect(db.serverVersion >= 100000)
            #expect(db.target.database == "nhitest")
            #expect(db.target.user == "postgres")
            #expect(db.target.host.hasPrefix("/"))  // the socket directory: no TCP
            #expect(!db.isInTransaction)
        }

        @Test func parametersRoundTripWithoutTouchingTheSQL() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("""
                CREATE TABLE t (id bigint PRIMARY KEY, label text, n bigint, x double precision, ok boolean,
                                raw bytea, at timestamptz)
                """)
            let texts = ["it's a \"quote\"; DROP TABLE t; --", "naïve 日本語 🚀 Ω \\ $1 :name ? %s", "", " "]
            let n: PGValue = .null
            let rows: [[PGValue]] = [
                [.int(1), .text(texts[0]), .int(.min), .double(0.1), .bool(true), .bytes([0, 255, 10, 39]),
                 .text("2026-01-02T03:04:05Z")],
                [.int(2), .text(texts[1]), .int(.max), .double(-1e300), .bool(false), .bytes([]), n],
                [.int(3), .text(texts[2]), .int(0), .double(.infinity), n, n, n],
                [.int(4), .text(texts[3]), .int(-1), .double(-.infinity), n, n, n],
                [.int(5), n, n, n, n, n, n],
            ]
            for row in rows {
                let inserted = try db.exec("INSERT INTO t VALUES ($1, $2, $3, $4, $5, $6, $7)", params: row)
                #expect(inserted.rowsAffected == 1)
            }
            let result = try db.exec("SELECT * FROM t ORDER BY id")
            #expect(result.rowCount == 5)
            #expect(result.columns.names == ["id", "label", "n", "x", "ok", "raw", "at"])
            let r = result.rows
            #expect(try r[0].get("label", as: String.self) == texts[0])
            #expect(try r[1].get("label", as: String.self) == texts[1])
            #expect(try r[2].get("label", as: String.self) == "")
            #expect(try r[3].get("label", as: String.self) == " ")
            #expect(try r[4].get("label", as: String?.self) == nil)
            #expect(try r[0].get("n", as: Int64.self) == .min)
            #expect(try r[1].get("n", as: Int64.self) == .max)
            #expect(try r[3].get("n", as: Int.self) == -1)
            #expect(try r[0].get("x", as: Double.self) == 0.1)
            #expect(try r[1].get("x", as: Double.self) == -1e300)
            #expect(try r[2].get("x", as: Double.self) == .infinity)
            #expect(try r[3].get("x", as: Double.self) == -.infinity)
            #expect(try r[0].get("ok", as: Bool.self) == true)
            #expect(try r[1].get("ok", as: Bool.self) == false)
            #expect(try r[2].get("ok", as: Bool?.self) == nil)
            #expect(try r[0].get("raw", as: [UInt8].self) == [0, 255, 10, 39])
            #expect(try r[1].get("raw", as: [UInt8].self) == [])
            #expect(try r[4].isNull("raw"))
            #expect(try r[0].get("at", as: String.self) == "2026-01-02 03:04:05+00")  // a text parameter fills a timestamptz
            // By index, too.
            #expect(try r[1].get(at: 0, as: Int.self) == 2)
            #expect(try r[1].get(at: 1, as: String.self) == texts[1])
            #expect(r[4].isNull(at: 1))
            // The table is still there: the quote-laden text went in as data.
            #expect(try db.exec("SELECT count(*) AS n FROM t")[0].get("n", as: Int.self) == 5)
            // A parameter can stand for a value anywhere, and is compared as data.
            let found = try db.exec("SELECT id FROM t WHERE label = $1", params: [.text(texts[1])])
            #expect(try found.rows.map { try $0.get("id", as: Int.self) } == [2])
        }

        @Test func columnsAreReadByDeclaredNameAndAnUnknownNameThrows() throws {
            let db = try PostgresCluster.scratch().connect()
            let row = try #require(try db.exec("SELECT 1 AS a, NULL::text AS b, 'x' AS \"MixedCase\", 2 AS asOf").first)
            #expect(try row.get("a", as: Int.self) == 1)
            #expect(try row.get("MixedCase", as: String.self) == "x")
            #expect(try row.get("asOf", as: Int.self) == 2)  // folded to asof by the server; found case-insensitively
            expectError(.columnNotFound) { _ = try row.get("c", as: Int.self) }
            expectError(.columnNotFound) { _ = try row.isNull("nope") }
            expectError(.decodingFailed) { _ = try row.get("b", as: String.self) }  // NULL is not a String
            #expect(try row.get("b", as: String?.self) == nil)
            expectError(.decodingFailed) { _ = try row.get("MixedCase", as: Int64.self) }
            do {
                _ = try row.get("c", as: Int.self)
            } catch {
                #expect(error.message.contains("'c'") && error.message.contains("'a'"))  // names what exists
            }
        }

        @Test func aTextParameterWithNULIsRefusedNotTruncated() throws {
            let db = try PostgresCluster.scratch().connect()
            expectError(.misuse) { try db.exec("SELECT $1::text", params: [.text("a\u{0}b")]) }
            #expect(try db.exec("SELECT 1 AS one")[0].get("one", as: Int.self) == 1)  // nothing was sent; still usable
        }

        @Test func serverErrorsCarryTheirSQLSTATEAndNamedKind() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.execScript("""
                CREATE TABLE owner (id text PRIMARY KEY);
                CREATE TABLE token (id text PRIMARY KEY, owner text NOT NULL REFERENCES owner(id),
                                    days int CHECK (days > 0));
                INSERT INTO owner VALUES ('alice');
                """)
            let insert = "INSERT INTO token VALUES ($1, $2, $3)"
            try db.exec(insert, params: [.text("t1"), .text("alice"), .int(1)])
            #expect(try duplicateIsCaughtByKind(db, insert))
            let duplicate = #expect(throws: PGError.self) { try db.exec(insert, params: [.text("t1"), .text("alice"), .int(1)]) }
            #expect(duplicate?.kind == .uniqueViolation)
            #expect(duplicate?.sqlState == "23505")
            #expect(duplicate?.constraint == "token_pkey")
            #expect(duplicate?.detail?.contains("(id)=(t1)") == true)
            #expect(duplicate?.description.hasPrefix("PostgreSQL error 23505 (uniqueViolation): duplicate key") == true)
            #expect(duplicate?.description.hasSuffix("- while executing `\(insert)`") == true)
            #expect(duplicate?.isRetryable == false)

            let cases: [(PGErrorKind, String, String, [PGValue])] = [
                (.foreignKeyViolation, "23503", insert, [.text("t2"), .text("bob"), .int(1)]),
                (.notNullViolation, "23502", insert, [.text("t3"), .null, .int(1)]),
                (.checkViolation, "23514", insert, [.text("t4"), .text("alice"), .int(0)]),
                (.undefinedTable, "42P01", "SELECT * FROM no_such_table", []),
                (.other, "42601", "SELEC 1", []),
            ]
            for (kind, state, sql, params) in cases {
                let error = #expect(throws: PGError.self) { try db.exec(sql, params: params) }
                #expect(error?.kind == kind, "\(sql)")
                #expect(error?.sqlState == state, "\(sql)")
            }
            #expect(PGErrorKind.of(sqlState: "40001") == .serializationFailure)
            #expect(PGErrorKind.of(sqlState: "40P01") == .deadlockDetected)
            #expect(PGErrorKind.of(sqlState: "55P03") == .lockNotAvailable)
            #expect(PGErrorKind.of(sqlState: "08006") == .connectionFailure)
            #expect(PGErrorKind.of(sqlState: "57P01") == .connectionFailure)
        }

        @Test func aScriptRunsSeveralStatementsAllOrNothing() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.execScript("CREATE TABLE a (n int); INSERT INTO a VALUES (1); INSERT INTO a VALUES (2)")
            #expect(try db.exec("SELECT sum(n)::bigint AS s FROM a")[0].get("s", as: Int.self) == 3)
            expectError(.undefinedTable) {
                try db.execScript("INSERT INTO a VALUES (3); INSERT INTO missing VALUES (4)")
            }
            #expect(try db.exec("SELECT count(*) AS c FROM a")[0].get("c", as: Int.self) == 2)
        }

        @Test func serverNoticesNeverReachTheTerminal() throws {
            let db = try PostgresCluster.scratch().connect()
            let captured = try captureStandardStreams {
                try db.exec("DO $$ BEGIN RAISE NOTICE 'nhi-notice-marker'; RAISE WARNING 'nhi-warning-marker'; END $$")
                try db.exec("DROP TABLE IF EXISTS never_existed")  // NOTICE: table does not exist, skipping
            }
            #expect(!captured.contains("nhi-notice-marker"))
            #expect(!captured.contains("nhi-warning-marker"))
            #expect(!captured.contains("never_existed"))
        }
    }
}

/// `catch PGError.uniqueViolation`, as GRDB's `catch DatabaseError.SQLITE_CONSTRAINT`. In a function of its own:
/// inside a test body full of #expect, this do/catch crashes Swift 6.3.1's MandatoryAllocBoxToStack pass.
func duplicateIsCaughtByKind(_ db: PGConnection, _ insert: String) throws -> Bool {
    do {
        try db.exec(insert, params: [.text("t1"), .text("alice"), .int(1)])
        return false
    } catch PGError.uniqueViolation {
        return true
    }
}
