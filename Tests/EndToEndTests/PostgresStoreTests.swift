import Foundation
import NHIPostgres
@testable import NHIStore
import Testing

/// What only a PostgreSQL store has to show (issue 18): the same bytes as SQLite for the same commands, no
/// password in any message, append-only audit and history tables, and many writers on one server losing nothing.
/// Skipped, with the line PostgresCluster prints, where PostgreSQL is not installed (NHI_REQUIRE_POSTGRES=1 fails).
@Suite(.enabled(if: PostgresCluster.enabled, "PostgreSQL is not installed: the shared-store tests were not run"))
struct PostgresStoreTests {
    /// One script of commands covering writes of every kind and the machine-readable outputs.
    static let script: [[String]] = [
        ["owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com", "--team", "platform"],
        ["owner", "add", "Bob", "--name", "Bob Ruiz", "--email", "bob@example.com"],
        ["owner", "add", "9carol", "--name", "Carol", "--email", "carol@example.com"],
        ["agent", "add", "bot", "--system", "github", "--owner", "alice"],
        ["agent", "add", "Bot2", "--system", "slack", "--owner", "Bob"],
        ["system", "add", "github", "--policy-owner", "alice", "--platform-owner", "Bob"],
        ["token", "register", "t-b", "--owner", "alice", "--purpose", "ci", "--system", "github", "--agent", "bot",
         "--expires", "2026-05-01", "--issued-at", "2025-01-01", "--scopes", "repo:read,issues:write", "--label", "k=v"],
        ["token", "register", "T-a", "--owner", "Bob", "--purpose", "deploy", "--system", "slack", "--agent", "Bot2",
         "--expires", "never", "--environment", "prod"],
        ["token", "register", "t-c", "--owner", "9carol", "--purpose", "é accent", "--system", "github", "--agent", "bot",
         "--expires", "2026-12-31", "--rotate-every", "30d"],
        ["usage", "record", "t-b", "--agent", "Bot2", "--at", "2026-05-20T00:00:00Z"],
        ["review", "t-c", "--decision", "keep", "--note", "fine"],
        ["token", "rotate", "t-c"],
        ["token", "update", "T-a", "--scopes", "chat:write"],
        ["exception", "add", "T-a", "--state", "no-expiry", "--until", "2026-08-01", "--reason", "vendor", "--approved-by", "alice"],
        ["owner", "depart", "9carol"],
        ["token", "revoke", "t-b", "--reason", "leaked"],
    ]

    static let reads: [[String]] = [
        ["owner", "list", "--format", "json"], ["agent", "list", "--format", "csv"],
        ["token", "list", "--format", "json"], ["token", "list", "--format", "csv"],
        ["token", "show", "T-a", "--format", "json"], ["system", "list", "--format", "json"],
        ["exception", "list", "--format", "csv"],
        ["check", "--format", "json"], ["check", "--format", "github"],
        ["report", "owners", "--format", "csv"], ["report", "systems", "--format", "json"],
        ["report", "offboarding", "--format", "json"], ["report", "rotation-due", "--format", "csv"],
        ["report", "review-due", "--format", "json"], ["report", "expiring", "--format", "csv", "--within", "300d"],
        ["report", "controls", "--format", "json"], ["report", "changes", "--from", "2026-01-01", "--format", "csv"],
        ["export", "--format", "json"], ["export", "--format", "csv"],
        ["audit", "log", "--format", "json"], ["audit", "verify"], ["audit", "head"],
        ["token", "list", "--as-of", "2026-05-31", "--format", "json"],
    ]

    /// Runs the script on a sandbox and returns each read's exit code and stdout.
    func outputs(_ sandbox: Sandbox) throws -> [String] {
        for command in PostgresStoreTests.script { try sandbox.ok(command) }
        return try PostgresStoreTests.reads.map { read in
            let result = try sandbox.run(read)
            return "\(read.joined(separator: " ")) -> \(result.code)\n\(result.out)"
        }
    }

    @Test("the same commands give byte-identical json, csv and github outputs and the same audit head on both engines")
    func sameBytesOnBothEngines() throws {
        let sqlite = try outputs(Sandbox(engine: .sqlite))
        let postgres = try outputs(Sandbox(engine: .postgres))
        for (a, b) in zip(sqlite, postgres) {
            #expect(a == b, "SQLite and PostgreSQL differ")
        }
        #expect(sqlite.count == PostgresStoreTests.reads.count && postgres.count == sqlite.count)
        // Text sorts as bytes on both (digits before uppercase before lowercase), as SQLite's BINARY does; a
        // database's locale collation would put alice before Bob.
        let list = try #require(postgres.first { $0.hasPrefix("owner list") })
        let positions = try ["\"9carol\"", "\"Bob\"", "\"alice\""].map { try #require(list.range(of: $0)).lowerBound }
        #expect(positions == positions.sorted())
    }

    /// An import file of `tokens` tokens (and their owners and agents first), in the export's CSV shape; `edit`
    /// changes the token rows (by index) before they are written.
    static func inventoryCSV(tokens: Int, edit: (Int, inout [String: String]) -> Void = { _, _ in }) -> String {
        let header = ["kind", "id", "name", "email", "system", "owner", "purpose", "agent", "issued_at", "expires_at", "fingerprint"]
        var lines = [header.joined(separator: ",")]
        func line(_ fields: [String: String]) { lines.append(header.map { fields[$0] ?? "" }.joined(separator: ",")) }
        for o in 0..<5 { line(["kind": "owner", "id": "o\(o)", "name": "Owner \(o)", "email": "o\(o)@example.com"]) }
        for a in 0..<20 { line(["kind": "agent", "id": "a\(a)", "system": "github", "owner": "o\(a % 5)"]) }
        for t in 0..<tokens {
            var fields = ["kind": "token", "id": "t\(t)", "owner": "o\(t % 5)", "purpose": "p \(t)", "system": "github",
                          "agent": "a\(t % 20)", "issued_at": "2026-01-01", "expires_at": t % 3 == 0 ? "never" : "2026-09-01"]
            edit(t, &fields)
            line(fields)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// An import on PostgreSQL writes its new records a batch at a time (`Importer.flush`); a batch the store
    /// refuses goes again one record at a time. Either way the store, the audit head, the counts and the problems
    /// must be what SQLite's one-at-a-time import gives, across batch boundaries.
    @Test("an import across batches gives the same store, audit head, counts and problems on both engines")
    func importAcrossBatchesMatchesSQLite() throws {
        let tokens = 4_500  // more than two batches of tokens
        let first = PostgresStoreTests.inventoryCSV(tokens: tokens)
        // The second file: every record again with some changed (update), a new token in the middle of a batch.
        let second = PostgresStoreTests.inventoryCSV(tokens: tokens + 1) { t, fields in
            if t % 700 == 0 { fields["purpose"] = "changed \(t)" }
            if t == tokens { fields["id"] = "t-new" }
        }
        let fingerprint = "sha256:" + String(repeating: "cd", count: 32)
        // Bad records deep inside a batch: an unknown owner, then a fingerprint reused by a later token.
        let bad = PostgresStoreTests.inventoryCSV(tokens: 3_000) { t, fields in
            fields["id"] = "b\(t)"
            if t == 1_234 { fields["owner"] = "nobody" }
            if t == 2_100 || t == 2_500 { fields["fingerprint"] = fingerprint }
        }
        func run(_ engine: TestEngine) throws -> [String] {
            let box = Sandbox(engine: engine)
            var seen: [String] = []
            for (name, text) in [("first.csv", first), ("second.csv", second), ("bad.csv", bad)] {
                try text.write(toFile: box.path(name), atomically: true, encoding: .utf8)
            }
            for args in [["import", box.path("first.csv")],
                         ["import", box.path("second.csv"), "--on-conflict", "skip"],
                         ["import", box.path("second.csv"), "--on-conflict", "update"],
                         ["import", box.path("bad.csv")],
                         ["import", box.path("first.csv")],
                         ["audit", "head"], ["audit", "verify"], ["export", "--format", "csv"],
                         ["report", "changes", "--from", "2026-01-01", "--format", "csv"]] {
                let result = try box.run(args)
                seen.append("\(args.first!) \(args.dropFirst(2).joined(separator: " ")) -> \(result.code)\n\(result.out)\(result.err)"
                    .replacingOccurrences(of: box.dir.path, with: "DIR"))
            }
            seen.append(try box.sql("SELECT count(*) FROM audit_log"))
            return seen
        }
        let sqlite = try run(.sqlite)
        let postgres = try run(.postgres)
        #expect(sqlite.count == postgres.count)
        for (a, b) in zip(sqlite, postgres) { #expect(a == b, "SQLite and PostgreSQL differ") }
        // The runs did what they say: 4,525 records created, then skipped, then 7 updated and one created; the
        // bad file refused with its three problems in file order; the first file again refused as duplicates.
        #expect(sqlite[0].contains("4525 created"))
        #expect(sqlite[1].contains("1 created, 0 updated, 0 unchanged, 4525 skipped"))
        #expect(sqlite[2].contains("0 created, 7 updated, 4519 unchanged"))
        #expect(sqlite[3].contains("-> 3") && sqlite[3].contains("unknown owner 'nobody'") && sqlite[3].contains("already registered as token 'b2100'"))
        #expect(sqlite[4].contains("-> 3"))
        #expect(sqlite.last == "4533")
    }

    /// A server URI with a password: every message names host and database, never the password.
    @Test("a password in the URI is never printed, in errors or in outputs")
    func passwordIsNeverPrinted() throws {
        let sandbox = Sandbox(engine: .postgres)
        let schema = try #require(sandbox.schema)
        let secret = "Pa55-w0rd-never-shown"
        // The test cluster trusts local connections, so the password is accepted and ignored.
        let uri = schema.uri.replacingOccurrences(of: "postgresql:///", with: "postgresql://postgres:\(secret)@/")
        #expect(uri.contains(secret))
        let runs: [[String]] = [
            ["owner", "add", "alice", "--name", "A", "--email", "a@example.com"],
            ["owner", "add", "alice", "--name", "A", "--email", "a@example.com"],  // refused: exists
            ["check", "--format", "sarif"], ["check"], ["owner", "list"],
            ["report", "html", "--out", sandbox.path("r.html")],
        ]
        for args in runs {
            let result = try sandbox.run(["--db", uri] + args)
            #expect(!(result.out + result.err).contains(secret), "nhi \(args.joined(separator: " ")) printed the password")
        }
        #expect(!(try String(contentsOfFile: sandbox.path("r.html"), encoding: .utf8)).contains(secret))
        // Unreachable: a missing database, a missing socket directory, a malformed URI.
        let missingDB = uri.replacingOccurrences(of: "@/nhitest?", with: "@/no_such_db?")
        let missingHost = "postgresql://postgres:\(secret)@/nhitest?host=/nonexistent-socket-dir"
        let malformed = "postgresql://postgres:\(secret)@/nhitest?bogus_option=1"
        for target in [missingDB, missingHost, malformed] {
            let result = try sandbox.run(["--db", target, "owner", "list"])
            #expect(result.code == 4, "\(result.err)")
            #expect(result.out.isEmpty)
            #expect(!result.err.contains(secret), "printed the password: \(result.err)")
            if target != malformed {
                #expect(result.err.contains("dbname=nhitest") || result.err.contains("dbname=no_such_db"), "the message names the database: \(result.err)")
            }
        }
        // PGPASSWORD is read by libpq and never printed either.
        let viaEnvironment = try sandbox.run(["--db", missingDB.replacingOccurrences(of: ":\(secret)", with: ""), "owner", "list"],
                                             env: ["PGPASSWORD": secret])
        #expect(viaEnvironment.code == 4 && !viaEnvironment.err.contains(secret))
    }

    @Test("the audit and history tables refuse UPDATE, DELETE and TRUNCATE; audit verify still passes")
    func auditAndHistoryAreAppendOnly() throws {
        let sandbox = Sandbox(engine: .postgres)
        let schema = try #require(sandbox.schema)
        try sandbox.seedBasics()
        _ = try sandbox.register("t1")
        try sandbox.ok(["token", "update", "t1", "--purpose", "changed"])
        try sandbox.ok(["agent", "transfer", "bot", "--to", "bob"])
        try sandbox.ok(["owner", "depart", "alice"])
        #expect(try sandbox.sql("SELECT (SELECT count(*) FROM owners_history) > 0 AND (SELECT count(*) FROM agents_history) > 0 AND (SELECT count(*) FROM tokens_history) > 0") == "t")
        let before = try sandbox.contentHash()
        let connection = try PGConnection(schema.uri)
        for statement in ["UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log WHERE seq = 1", "TRUNCATE audit_log",
                          "UPDATE tokens_history SET purpose = 'x'", "DELETE FROM tokens_history", "DELETE FROM owners_history",
                          "UPDATE agents_history SET system = 'x'", "TRUNCATE tokens_history"] {
            let refused = refusal(connection, statement)
            #expect(refused?.sqlState == "42501", "\(statement): \(refused.map { "\($0)" } ?? "not refused")")
            #expect(refused?.message.contains("append-only") == true)
        }
        #expect(try sandbox.contentHash() == before)
        let verified = try sandbox.run(["audit", "verify"])
        #expect(verified.code == 0, "\(verified.out)\(verified.err)")
    }

    func refusal(_ connection: PGConnection, _ sql: String) -> PGError? {
        do { try connection.exec(sql) } catch { return error }
        return nil
    }

    /// 8 processes × 500 registrations against one server: nothing lost, one linear chain that verifies.
    @Test("8 concurrent writers x 500 registrations lose nothing and keep one verifiable chain")
    func concurrentWritersOnOneServer() throws {
        let sandbox = Sandbox(engine: .postgres)
        try sandbox.seedBasics()
        let (workers, each) = (8, 500)
        let bin = NHIBinary.path
        var processes: [(Process, Pipe)] = []
        for worker in 0..<workers {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", """
                i=0; while [ $i -lt \(each) ]; do
                  "\(bin)" token register w\(worker)-$i --owner alice --purpose p --system github --agent bot --expires 2026-12-31 >/dev/null || exit 1
                  i=$((i+1))
                done
                """]
            var environment = ProcessInfo.processInfo.environment
            environment.merge(["NHI_DB": sandbox.db, "NHI_NOW": "2026-06-01T00:00:00Z", "NHI_ACTOR": "worker"]) { $1 }
            process.environment = environment
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            processes.append((process, err))
        }
        let clock = ContinuousClock()
        let began = clock.now
        for (process, _) in processes { try process.run() }
        for (process, err) in processes {
            let data = readAll(err.fileHandleForReading)
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "worker failed: \(String(decoding: data, as: UTF8.self))")
            #expect(data.isEmpty, "\(String(decoding: data, as: UTF8.self))")
        }
        let elapsed = clock.now - began
        let total = workers * each
        #expect(try sandbox.sql("SELECT count(*) FROM tokens") == "\(total)")
        #expect(try sandbox.sql("SELECT count(*) FROM audit_log WHERE action = 'token.register'") == "\(total)")
        // Linear: seq 1...n without gaps, each entry linked to the one before.
        let n = total + 3
        #expect(try sandbox.sql("SELECT count(*), min(seq), max(seq) FROM audit_log") == "\(n)|1|\(n)")
        #expect(try sandbox.sql("SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash") == "\(n - 1)")
        let verified = try sandbox.run(["audit", "verify"])
        #expect(verified.code == 0, "\(verified.out)\(verified.err)")
        // The figure for Docs/postgres.md; never asserted.
        FileHandle.standardError.write(Data("PostgreSQL stress: \(workers) processes x \(each) registrations in \(elapsed), 0 lost, chain verifies\n".utf8))
    }

    /// Docs/postgres.md's roles, run as written (role and schema names made unique to this run): the analyst
    /// writes, the auditor and CI read (as of a past instant too) and cannot write, nobody rewrites the audit log.
    @Test("Docs/postgres.md's roles and GRANTs run as written: the analyst writes, auditor and CI only read")
    func documentedRolesWork() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("Docs/postgres.md"), encoding: .utf8)
        let blocks = doc.components(separatedBy: "```sql\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 2, "the doc's two SQL blocks: roles and grants, then the revoke after the first run")
        let tag = "r\(UInt32.random(in: 0...UInt32.max))"
        func unique(_ sql: String) -> String {
            var text = sql
            for role in ["nhi_admin", "nhi_analyst", "nhi_auditor", "nhi_ci"] { text = text.replacingOccurrences(of: role, with: "\(role)_\(tag)") }
            return text.replacingOccurrences(of: #"\bnhi\b"#, with: "nhi_\(tag)", options: .regularExpression)
        }
        let server = try SharedCluster.uri()
        let admin = try PGConnection(server)
        try admin.execScript(unique(blocks[0]))
        defer { try? admin.execScript("DROP SCHEMA nhi_\(tag) CASCADE; DROP OWNED BY nhi_admin_\(tag), nhi_analyst_\(tag), nhi_auditor_\(tag), nhi_ci_\(tag); DROP ROLE nhi_admin_\(tag), nhi_analyst_\(tag), nhi_auditor_\(tag), nhi_ci_\(tag)") }
        func uri(_ role: String) -> String { server.replacingOccurrences(of: "user=postgres", with: "user=\(role)_\(tag)") }
        let box = Sandbox(engine: .sqlite)
        func nhi(_ role: String, _ args: [String]) throws -> RunResult { try box.run(["--db", uri(role)] + args) }
        let created = try nhi("nhi_admin", ["owner", "add", "platform-team", "--name", "Platform team", "--email", "platform@example.com"])
        #expect(created.code == 0, "\(created.err)")
        try admin.execScript(unique(blocks[1]))

        box.environment["NHI_NOW"] = "2026-05-01T00:00:00Z"
        for args in [["owner", "add", "alice", "--name", "A", "--email", "a@example.com"],
                     ["agent", "add", "bot", "--system", "github", "--owner", "alice"],
                     ["token", "register", "t1", "--owner", "alice", "--purpose", "ci", "--system", "github", "--agent", "bot", "--expires", "2026-12-31"],
                     ["usage", "record", "t1", "--agent", "bot"], ["review", "t1", "--decision", "keep"]] {
            let result = try nhi("nhi_analyst", args)
            #expect(result.code == 0, "analyst: nhi \(args.joined(separator: " ")): \(result.err)")
        }
        box.environment["NHI_NOW"] = "2026-06-01T00:00:00Z"
        #expect(try nhi("nhi_analyst", ["token", "rotate", "t1"]).code == 0)
        for role in ["nhi_auditor", "nhi_ci"] {
            for args in [["check"], ["audit", "verify"], ["token", "list", "--as-of", "2026-05-15"], ["export", "--format", "json"]] {
                let result = try nhi(role, args)
                #expect(result.code == 0, "\(role): nhi \(args.joined(separator: " ")): \(result.err)")
            }
            let refused = try nhi(role, ["owner", "add", "mallory", "--name", "M", "--email", "m@example.com"])
            #expect(refused.code == 4 && refused.err.contains("permission denied") && refused.out.isEmpty, "\(role): \(refused.err)")
        }
        #expect(try nhi("nhi_auditor", ["owner", "list", "--format", "csv"]).out.contains("mallory") == false)
        // The analyst cannot rewrite the log: no UPDATE privilege, and the trigger behind it.
        let analyst = try PGConnection(uri("nhi_analyst"))
        let update = refusal(analyst, "UPDATE audit_log SET actor = 'x' WHERE seq = 1")
        #expect(update?.sqlState == "42501", "\(update.map { "\($0)" } ?? "not refused")")
        let delete = refusal(analyst, "DELETE FROM tokens_history")
        #expect(delete?.sqlState == "42501", "\(delete.map { "\($0)" } ?? "not refused")")
        #expect(try nhi("nhi_auditor", ["audit", "verify"]).code == 0)
    }
}

/// A PostgreSQL scan (`Database.forEachCursor`, `forEachRow`) inside a transaction reads through a server cursor a
/// FETCH at a time (`PostgresEngine.forEachBatch`): one cursor open while it runs, closed after, and a body may
/// run statements and scans of its own between rows, as on SQLite.
@Suite(.enabled(if: PostgresCluster.enabled, "PostgreSQL is not installed: the scan tests were not run"))
struct PostgresScanTests {
    @Test("a scan streams through a cursor that it closes; its body may run statements and scans of its own")
    func scansStreamThroughACursor() throws {
        let box = Sandbox(engine: .postgres)
        let db = try NHIStore.Database(postgres: box.db)
        let count = 3 * PostgresEngine.fetchRows + 17  // several FETCHes and a short last one
        try db.executeScript("CREATE TABLE scan_rows (n bigint PRIMARY KEY, label text, x double precision)")
        try db.execute("INSERT INTO scan_rows SELECT g, 'row ' || g, g / 2.0 FROM generate_series(1, :count) g",
                       .named(["count": .int(Int64(count))]))
        var seen = 0, sum: Int64 = 0, inner = 0
        var openDuring: Int64 = -1
        try db.readTransaction { () throws -> Void in
            try db.forEachCursor("SELECT n, label, x FROM scan_rows ORDER BY n") { row in
                seen += 1
                sum += row.int(0) ?? 0
                #expect(row.string(1) == "row \(seen)")
                #expect(row.withBytes(1) { $0.count } == "row \(seen)".utf8.count)
                #expect(!row.isNull(2) && row.int(2) == nil)  // a double is not an int, as on SQLite
                if seen % 5000 == 1 {
                    openDuring = try db.scalar("SELECT count(*) FROM pg_cursors WHERE name LIKE 'nhi_scan%'").int ?? -1
                    try db.forEachRow("SELECT n FROM scan_rows WHERE n <= 3") { _ in inner += 1 }
                }
            }
        }
        #expect(seen == count)
        #expect(sum == Int64(count) * Int64(count + 1) / 2)
        // The scan's own cursor (pg_cursors also lists the portal of the query asking; the name leaves it out).
        #expect(openDuring == 1)
        #expect(inner == 3 * ((count - 1) / 5000 + 1))
        // Closed after the scan, after a body that throws, and no cursor outside a transaction.
        struct Stop: Error {}
        var openAfter: Int64 = -1
        try db.readTransaction { () throws -> Void in
            #expect(throws: Stop.self) { try db.forEachRow("SELECT n FROM scan_rows") { _ in throw Stop() } }
            openAfter = try db.scalar("SELECT count(*) FROM pg_cursors WHERE name LIKE 'nhi_scan%'").int ?? -1
        }
        #expect(openAfter == 0)
        var outside = 0
        try db.forEachCursor("SELECT n FROM scan_rows") { _ in outside += 1 }
        #expect(outside == count)
    }
}
