import Foundation
import Testing

extension Sandbox {
    /// Changes the store behind nhi's back, as someone with the file and the sqlite3 shell could.
    /// On PostgreSQL as its superuser could: with triggers off (`session_replication_role = replica`), past the
    /// append-only triggers that refuse nhi's own roles.
    func tamper(_ sql: String) throws {
        if let schema { _ = try schema.query("SET session_replication_role = replica; " + sql); return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", db, sql]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "sqlite3 failed on: \(sql)")
    }

    /// One value read with the sqlite3 shell.
    func sqlite(_ statement: String) throws -> String { try sql(statement) }

    /// alice, bob, bot, tokens t1 and t2, and one update of t1: entries 1-6.
    func seedHistory() throws {
        try seedBasics()
        try #require(try register("t1").code == 0)
        try #require(try register("t2").code == 0)
        try ok(["token", "update", "t1", "--purpose", "deploy"])
    }
}

@Suite(.bothEngines) struct AuditEndToEndTests {
    @Test func cleanHistoryVerifiesWithASummary() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let head = try sandbox.ok(["audit", "head"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(head.count == 64 && head.allSatisfy { $0.isHexDigit })
        let verify = try sandbox.ok(["audit", "verify"])
        #expect(verify.out == "audit chain ok: 6 entries, head \(head)\n")
        try sandbox.ok(["audit", "verify", "--head", head])
    }

    @Test func editedTokenRowFailsNamingTheToken() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        try sandbox.tamper("UPDATE tokens SET expires_at = NULL WHERE id = 't2'")
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.contains("token t2: differs from its last audit entry (entry 5) in expires_at"))
    }

    @Test func deletedAuditRowFailsAtThatEntry() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        try sandbox.tamper("DELETE FROM audit_log WHERE seq = 4")
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.hasPrefix("audit verify failed: "))
        #expect(result.out.contains("the first: entry 4: missing (deleted): the chain jumps from 3 to 5"))
    }

    @Test func reorderedRowsFailAtTheFirstMovedEntry() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        try sandbox.tamper("UPDATE audit_log SET seq = 99 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 99;")
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.contains("the first: entry 2: altered"))
    }

    @Test func insertedRowFailsAtThatEntry() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let zeros = String(repeating: "0", count: 64), ones = String(repeating: "1", count: 64)
        try sandbox.tamper("""
            INSERT INTO audit_log (seq, at, actor, command, action, entity_kind, entity_id, before, after, prev_hash, hash)
            VALUES (7, 0, 'mallory', 'x', 'token.update', 'token', 't9', NULL, NULL, '\(zeros)', '\(ones)')
            """)
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.contains("the first: entry 7: altered"))
    }

    @Test func rowsAddedOrRemovedBehindNhisBackAreNamed() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        try sandbox.tamper("""
            INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('shadow', 'github', 'alice', 'active', 1, 1);
            DELETE FROM tokens WHERE id = 't2';
            """)
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.contains("agent shadow: has no audit entry (inserted directly into the store)"))
        #expect(result.out.contains("token t2: is missing, but its last audit entry (entry 5) says it exists"))
    }

    @Test func deletedRowsOfEachKindAreNamedAndOnlyThose() throws {
        // The audit's text ids meet each table's ids as text: a review's integer id, a token id that reads as a number.
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        try #require(try sandbox.register("42").code == 0)
        try sandbox.ok(["review", "t1", "--decision", "keep", "--note", "checked"])
        try sandbox.ok(["review", "t2", "--decision", "keep"])
        try sandbox.ok(["audit", "verify"])
        try sandbox.tamper("DELETE FROM reviews WHERE id = 1; DELETE FROM tokens WHERE id IN ('42', 't2'); DELETE FROM owners WHERE id = 'bob'")
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.components(separatedBy: "is missing, but its last audit entry").count == 5, "\(result.out)")
        for entity in ["the first: owner bob", "\n  token 42", "\n  token t2", "\n  review 1"] {
            #expect(result.out.contains("\(entity): is missing, but its last audit entry"), "\(entity): \(result.out)")
        }
    }

    @Test func editedDeletedOrInsertedHistoryRowsAreNamed() throws {
        // seedHistory's entry 6 (token update t1 --purpose deploy) ended t1's first version.
        let edited = Sandbox()
        try edited.seedHistory()
        #expect(try edited.sqlite("SELECT count(*) FROM tokens_history WHERE ended_by_seq = 6 AND made_by_seq = 4") == "1")
        try edited.ok(["audit", "verify"])
        try edited.tamper("UPDATE tokens_history SET purpose = 'nothing to see' WHERE ended_by_seq = 6")
        let result = try edited.run(["audit", "verify"])
        #expect(result.code == 1)
        #expect(result.out.contains("tokens_history row of token t1 (ended by entry 6): differs from the before of its audit entry in purpose (edited directly in the store)"))

        let redated = Sandbox()
        try redated.seedHistory()
        try redated.tamper("UPDATE tokens_history SET valid_to = valid_to + 86400 WHERE ended_by_seq = 6")
        #expect(try redated.run(["audit", "verify"]).out.contains("tokens_history row of token t1 (ended by entry 6): its interval"))

        let deleted = Sandbox()
        try deleted.seedHistory()
        try deleted.tamper("DELETE FROM tokens_history WHERE ended_by_seq = 6")
        let gone = try deleted.run(["audit", "verify"])
        #expect(gone.code == 1)
        #expect(gone.out.contains("entry 6: changed token t1, but the version it ended is missing from tokens_history (deleted directly from the store)"))

        let inserted = Sandbox()
        try inserted.seedHistory()
        try inserted.tamper("""
            INSERT INTO owners_history (ended_by_seq, made_by_seq, valid_from, valid_to, id, name, email, status, created_at, updated_at)
            VALUES (5, NULL, NULL, 1, 'alice', 'Mallory', 'm@example.com', 'active', 0, 0)
            """)
        let added = try inserted.run(["audit", "verify"])
        #expect(added.code == 1)
        #expect(added.out.contains("owners_history row of owner alice (ended by entry 5): has no audit entry that changed this owner (inserted directly into the store)"))
    }

    @Test func editedDeletedOrInsertedSystemAndExceptionVersionsAreNamed() throws {
        func seeded() throws -> Sandbox {
            let box = Sandbox()
            box.environment["NHI_NOW"] = "2026-01-01T00:00:00Z"
            try box.ok(["owner", "add", "alice", "--name", "Alice", "--email", "a@example.com"])
            try box.ok(["system", "add", "github", "--policy-owner", "alice", "--platform-owner", "alice"])
            try box.ok(["agent", "add", "a1", "--system", "github", "--owner", "alice"])
            try box.ok(["system", "freeze", "github", "--reason", "incident"])
            try box.ok(["token", "register", "t1", "--owner", "alice", "--purpose", "ci", "--system", "jira",
                        "--agent", "a1", "--expires", "never"])
            try box.ok(["exception", "add", "t1", "--state", "no-expiry", "--until", "2026-02-01", "--reason", "vendor"])
            try box.ok(["exception", "revoke", "EX-1"])
            try box.ok(["audit", "verify"])
            #expect(try box.sqlite("SELECT count(*) FROM systems_history WHERE ended_by_seq = 4 AND made_by_seq = 2") == "1")
            #expect(try box.sqlite("SELECT count(*) FROM exceptions_history WHERE ended_by_seq = 7 AND made_by_seq = 6") == "1")
            return box
        }
        let cases: [(sql: String, message: String)] = [
            ("UPDATE systems_history SET platform_owner = 'mallory' WHERE ended_by_seq = 4",
             "systems_history row of system github (ended by entry 4): differs from the before of its audit entry in platform_owner (edited directly in the store)"),
            ("UPDATE exceptions_history SET until = until + 86400 WHERE ended_by_seq = 7",
             "exceptions_history row of exception EX-1 (ended by entry 7): differs from the before of its audit entry in until (edited directly in the store)"),
            ("DELETE FROM exceptions_history WHERE ended_by_seq = 7",
             "entry 7: changed exception EX-1, but the version it ended is missing from exceptions_history (deleted directly from the store)"),
            ("INSERT INTO systems_history SELECT 6, made_by_seq, valid_from, valid_to, id, kind, gateway_role, policy_owner, platform_owner, audit_owner, incident_owner, managed_by, boundary, frozen_at, frozen_by, frozen_reason, created_at, updated_at FROM systems_history",
             "systems_history row of system github (ended by entry 6): has no audit entry that changed this system (inserted directly into the store)"),
            ("UPDATE systems SET frozen_at = NULL, frozen_by = NULL, frozen_reason = NULL",
             "system github: differs from its last audit entry (entry 4) in frozen_at, frozen_by, frozen_reason (edited directly in the store)"),
            ("UPDATE exceptions SET status = 'active', revoked_at = NULL",
             "exception EX-1: differs from its last audit entry (entry 7) in revoked_at, status (edited directly in the store)"),
        ]
        for (sql, message) in cases {
            let box = try seeded()
            try box.tamper(sql)
            let result = try box.run(["audit", "verify"])
            #expect(result.code == 1, "\(sql)")
            #expect(result.out.contains(message), "\(sql): \(result.out)")
        }
    }

    @Test func pinnedHeadFailsAfterARewrite() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let head = try sandbox.ok(["audit", "head"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        // Drop the newest entry and the change it recorded: the rest of the chain is still consistent.
        try sandbox.tamper("DELETE FROM audit_log WHERE seq = 6; DELETE FROM tokens_history WHERE ended_by_seq = 6; UPDATE tokens SET purpose = 'test', updated_at = created_at WHERE id = 't1';")
        try sandbox.ok(["audit", "verify"])
        let result = try sandbox.run(["audit", "verify", "--head", head])
        #expect(result.code == 1)
        #expect(result.out.contains("the pinned head \(head) is not in the chain"))
    }

    @Test func headMustLookLikeAHash() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let result = try sandbox.run(["audit", "verify", "--head", "abc"])
        #expect(result.code == 3)
        #expect(result.err.contains("--head must be a hash"))
    }

    @Test func verifyNeedsAStore() throws {
        let sandbox = Sandbox()
        let result = try sandbox.run(["audit", "verify"])
        #expect(result.code == 3)
        #expect(try sandbox.contentHash() == "<no store>")
    }

    @Test func logShowsNewestFirstWithDifferences() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let table = try sandbox.ok(["audit", "log", "--token", "t1"]).out
        let lines = table.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("SEQ"))
        #expect(lines[1].hasPrefix("6 ") && lines[1].hasSuffix("purpose: test -> deploy"))
        #expect(lines[2].hasPrefix("4 ") && lines[2].hasSuffix("created"))

        let json = try jsonArray(try sandbox.ok(["audit", "log", "--owner", "bob", "--format", "json"]).out)
        #expect(json.count == 1)
        #expect(json[0]["action"] as? String == "owner.add")
        #expect((json[0]["after"] as? [String: Any])?["email"] as? String == "bob@example.com")

        let csv = try sandbox.ok(["audit", "log", "--format", "csv", "--limit", "1"]).out
        #expect(csv.hasPrefix("seq,at,actor,command,action,entity_kind,entity_id,changes,before,after,prev_hash,hash\n6,2026-06-01T00:00:00Z,tester,token update,token.update,token,t1,purpose: test -> deploy,"))

        let ndjson = try sandbox.ok(["audit", "log", "--actor", "tester", "--since", "2026-06-01", "--until", "2026-06-01", "--format", "ndjson"]).out
        #expect(ndjson.split(separator: "\n").count == 6)
        let none = try sandbox.ok(["audit", "log", "--until", "2026-05-31"]).out
        #expect(none == "no audit entries\n")
    }

    @Test func logRejectsABackwardsRange() throws {
        let sandbox = Sandbox()
        try sandbox.seedHistory()
        let result = try sandbox.run(["audit", "log", "--since", "2026-06-02", "--until", "2026-06-01"])
        #expect(result.code == 3)
        #expect(result.err.contains("--since (2026-06-02T00:00:00Z) is after --until"))
    }
}
