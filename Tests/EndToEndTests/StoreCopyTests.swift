import Foundation
import Testing

/// `nhi store copy --to TARGET` (issue 18 item 4): SQLite -> PostgreSQL -> SQLite gives the same outputs byte for
/// byte and the same audit head; a non-empty target is refused; a failed copy leaves no file or table behind; a
/// password in either URI is never printed. Skipped, with the line PostgresCluster prints, without PostgreSQL.
@Suite(.enabled(if: PostgresCluster.enabled, "PostgreSQL is not installed: the store copy tests were not run"))
struct StoreCopyTests {
    /// Each read of the shared script's outputs (exit code and stdout), on one store.
    func reads(_ sandbox: Sandbox) throws -> [String] {
        try PostgresStoreTests.reads.map { read in
            let result = try sandbox.run(read)
            return "\(read.joined(separator: " ")) -> \(result.code)\n\(result.out)"
        }
    }

    /// A SQLite store holding the script's writes (every table has rows).
    func seeded() throws -> Sandbox {
        let source = Sandbox(engine: .sqlite)
        for command in PostgresStoreTests.script { try source.ok(command) }
        return source
    }

    @Test("SQLite -> PostgreSQL -> SQLite keeps every output byte for byte, the audit head, and later writes")
    func roundTrip() throws {
        let source = try seeded()
        let postgres = Sandbox(engine: .postgres)
        let back = Sandbox(engine: .sqlite)
        let head = try source.ok(["audit", "head"]).out
        #expect(head.count == 65)

        let there = try source.ok(["store", "copy", "--to", postgres.db])
        #expect(there.out.hasPrefix("copied "), "\(there.out)")
        #expect(there.out.contains("audit_log 17") && there.out.hasSuffix("audit head \(head)"), "\(there.out)")
        #expect(!there.out.contains("options="), "the target is shown as host, database and user: \(there.out)")
        let backPath = back.db
        #expect(!FileManager.default.fileExists(atPath: backPath))
        try postgres.ok(["store", "copy", "--to", backPath])
        let mode = try FileManager.default.attributesOfItem(atPath: backPath)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let expected = try reads(source)
        for (name, copy) in [("PostgreSQL", postgres), ("SQLite again", back)] {
            let got = try reads(copy)
            #expect(got.count == expected.count)
            for (a, b) in zip(expected, got) { #expect(a == b, "the copy on \(name) differs") }
            #expect(try copy.ok(["audit", "head"]).out == head)
            #expect(try copy.ok(["audit", "verify"]).out.hasPrefix("audit chain ok: 17 entries"))
        }
        // The source is read, never written.
        #expect(try source.ok(["audit", "head"]).out == head)

        // Keys go on after the copied ones (identity sequences, rowids): new rows of every keyed kind fit.
        for copy in [postgres, back] {
            try copy.ok(["owner", "add", "dave", "--name", "Dave", "--email", "dave@example.com"])
            try copy.ok(["review", "t-c", "--decision", "keep"])
            try copy.ok(["usage", "record", "T-a", "--agent", "Bot2", "--at", "2026-05-30T00:00:00Z"])
            #expect(try copy.ok(["audit", "verify"]).out.hasPrefix("audit chain ok: 21 entries"))
        }
        #expect(try postgres.ok(["export", "--format", "json"]).out == (try back.ok(["export", "--format", "json"]).out))
    }

    @Test("SQLite -> SQLite copies rowids too: the same outputs")
    func sqliteToSQLite() throws {
        let source = try seeded()
        let copy = Sandbox(engine: .sqlite)
        try source.ok(["store", "copy", "--to", copy.db])
        #expect(try reads(copy) == (try reads(source)))
        #expect(try copy.sql("SELECT group_concat(rowid || ':' || id, ',') FROM (SELECT rowid, id FROM tokens ORDER BY rowid)")
            == (try source.sql("SELECT group_concat(rowid || ':' || id, ',') FROM (SELECT rowid, id FROM tokens ORDER BY rowid)")))
    }

    /// A refused copy: exit code, message, nothing on stdout, source and target unchanged.
    func expectRefused(_ source: Sandbox, to target: String, targetContent: () throws -> String, code: Int32, message: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let sourceBefore = try source.contentHash(), targetBefore = try targetContent()
        let result = try source.run(["store", "copy", "--to", target])
        #expect(result.code == code, "exit \(result.code): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("nhi: error: ") && result.err.contains(message), "\(result.err)", sourceLocation: sourceLocation)
        #expect(result.out.isEmpty, sourceLocation: sourceLocation)
        #expect(try source.contentHash() == sourceBefore, "the source changed", sourceLocation: sourceLocation)
        #expect(try targetContent() == targetBefore, "the target changed", sourceLocation: sourceLocation)
    }

    @Test("a non-empty target, the source itself, a missing source and a missing --to are refused; nothing changes")
    func refusals() throws {
        let source = try seeded()
        let sqliteTarget = Sandbox(engine: .sqlite)
        try sqliteTarget.seedBasics()
        try expectRefused(source, to: sqliteTarget.db, targetContent: sqliteTarget.contentHash, code: 3,
                          message: "already exists and is not empty; store copy writes only into a new file")
        let postgresTarget = Sandbox(engine: .postgres)
        try postgresTarget.seedBasics()
        try expectRefused(source, to: postgresTarget.db, targetContent: postgresTarget.contentHash, code: 3,
                          message: "is not empty: its schema holds")
        try expectRefused(source, to: source.db, targetContent: source.contentHash, code: 3,
                          message: "--to names the source store itself")

        // A missing source: no target is created.
        let missing = Sandbox(engine: .sqlite)
        let newFile = missing.path("never.db")
        try expectRefused(missing, to: newFile, targetContent: { FileManager.default.fileExists(atPath: newFile) ? "exists" : "absent" },
                          code: 3, message: "no store at")
        let empty = Sandbox(engine: .postgres)
        try expectRefused(missing, to: empty.db, targetContent: empty.contentHash, code: 3, message: "no store at")
        #expect(try empty.contentHash() == "<no store>")

        let usage = try source.run(["store", "copy"])
        #expect(usage.code == 2 && usage.err.contains("--to"), "\(usage.err)")
    }

    /// A zero-byte file (mktemp's) is no store: the copy writes a new one in its place, 0600 whatever the file's
    /// mode was; a failed copy leaves no file, as for a new one. A file of one byte is not empty: refused.
    @Test("a zero-byte target file is taken as a new file: written 0600, removed if the copy fails")
    func zeroByteTarget() throws {
        let source = try seeded()
        let target = Sandbox(engine: .sqlite)
        let path = target.db
        #expect(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644]))
        try source.ok(["store", "copy", "--to", path])
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        #expect(try reads(target) == (try reads(source)))

        let oneByte = target.path("one.db")
        #expect(FileManager.default.createFile(atPath: oneByte, contents: Data([0x0A])))
        try expectRefused(source, to: oneByte, targetContent: { try String(contentsOfFile: oneByte, encoding: .utf8) }, code: 3,
                          message: "already exists and is not empty")

        _ = try source.sql("INSERT INTO reviews (token_id, decision, actor, at) VALUES ('ghost', 'keep', 'x', 1)")
        let failed = target.path("failed.db")
        #expect(FileManager.default.createFile(atPath: failed, contents: Data()))
        let result = try source.run(["store", "copy", "--to", failed])
        #expect(result.code == 4 && result.err.contains("nothing was written"), "\(result.err)")
        #expect(!FileManager.default.fileExists(atPath: failed))
    }

    @Test("a copy that fails part-way leaves no new file and an empty schema, on either target")
    func failedCopyLeavesNothing() throws {
        let source = try seeded()
        // A row the target's foreign keys refuse (SQLite does not check them unless asked): the copy fails late,
        // after other tables were written inside its transaction.
        _ = try source.sql("INSERT INTO reviews (token_id, decision, actor, at) VALUES ('ghost', 'keep', 'x', 1)")
        let sqliteTarget = Sandbox(engine: .sqlite)
        let newFile = sqliteTarget.db
        try expectRefused(source, to: newFile, targetContent: { FileManager.default.fileExists(atPath: newFile) ? "exists" : "absent" },
                          code: 4, message: "FOREIGN KEY constraint failed; nothing was written")
        #expect(!FileManager.default.fileExists(atPath: newFile + "-wal"))
        let postgresTarget = Sandbox(engine: .postgres)
        try expectRefused(source, to: postgresTarget.db, targetContent: postgresTarget.contentHash, code: 4,
                          message: "violates foreign key constraint")
        #expect(try postgresTarget.contentHash() == "<no store>")
    }

    @Test("a password in the source or target URI is never printed")
    func passwordNeverPrinted() throws {
        let secret = "Pa55-w0rd-copy-never-shown"
        func withPassword(_ uri: String) -> String {
            uri.replacingOccurrences(of: "postgresql:///", with: "postgresql://postgres:\(secret)@/")
        }
        let source = try seeded()
        let postgres = Sandbox(engine: .postgres)
        let there = try source.run(["store", "copy", "--to", withPassword(postgres.db)])
        #expect(there.code == 0 && withPassword(postgres.db).contains(secret), "\(there.err)")
        let again = try source.run(["store", "copy", "--to", withPassword(postgres.db)])
        #expect(again.code == 3)
        let back = Sandbox(engine: .sqlite)
        let out = try back.run(["store", "copy", "--db", withPassword(postgres.db), "--to", back.db])
        #expect(out.code == 0, "\(out.err)")
        for result in [there, again, out] {
            #expect(!result.out.contains(secret) && !result.err.contains(secret))
            #expect(!(result.out + result.err).contains("Pa55"))
        }
    }
}
