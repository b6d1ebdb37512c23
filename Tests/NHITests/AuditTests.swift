import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

/// A small inventory written through the registry (so every change has its audit entry), for tamper tests.
struct AuditFixture {
    let store: Store
    var db: Database { store.db }
    static let t0: Instant = 1_767_225_600 // 2026-01-01T00:00:00Z

    init() throws {
        store = try Store.inMemory()
        let audit = AuditContext(actor: "tester", command: "test", at: AuditFixture.t0)
        try store.db.writeTransaction {
            try Registry.addOwner(store.db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil,
                                                  createdAt: AuditFixture.t0, updatedAt: AuditFixture.t0), audit: audit)
            try Registry.addAgent(store.db, Agent(id: "bot", system: "github", ownerID: "alice",
                                                  createdAt: AuditFixture.t0, updatedAt: AuditFixture.t0), audit: audit)
            for id in ["t1", "t2"] {
                try Registry.register(store.db, AuditFixture.token(id), audit: audit)
            }
            var changed = try Registry.requireToken(store.db, "t1")
            let before = changed
            changed.purpose = "deploy"
            try Registry.save(store.db, changed, before: before, action: "token.update", audit: audit)
        }
    }

    static func token(_ id: String) -> Token {
        Token(id: id, ownerID: "alice", purpose: "ci", system: "github", agentID: "bot", environment: "prod",
              scopes: ["repo:read"], issuedAt: t0, expiresAt: t0 + 365 * 86_400, rotateEvery: Token.defaultRotateEvery,
              lastRotatedAt: nil, reviewEvery: Token.defaultReviewEvery, lastReviewedAt: nil, fingerprint: nil,
              labels: ["team": "platform"], createdAt: t0, updatedAt: t0)
    }

    func verify(head: String? = nil) throws -> AuditVerifier.Result {
        try AuditVerifier.verify(db, pinnedHead: head)
    }

    /// Rewrites every entry from `seq` on with freshly computed hashes: what a forger with SQL and this code can do.
    func rehash(from seq: Int64) throws {
        var previous = try db.scalar("SELECT hash FROM audit_log WHERE seq = ?", [.int(seq - 1)]).text ?? AuditLog.genesisHash
        for row in try db.rows("SELECT * FROM audit_log WHERE seq >= ? ORDER BY seq", [.int(seq)]) {
            let old = try AuditLog.Entry(row: row)
            let entry = AuditLog.Entry(seq: old.seq, at: old.at, actor: old.actor, command: old.command, action: old.action,
                                       entityKind: old.entityKind, entityID: old.entityID, before: old.before,
                                       after: old.after, prevHash: previous)
            try db.execute("UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?",
                           [.text(entry.prevHash), .text(entry.hash), .int(entry.seq)])
            previous = entry.hash
        }
    }
}

@Suite struct AuditTests {
    @Test func canonicalSerialisationIsTheDocumentedOne() {
        let entry = AuditLog.Entry(seq: 1, at: 1_767_225_600, actor: "alice", command: "owner add", action: "owner.add",
                                   entityKind: "owner", entityID: "bob", before: nil, after: #"{"id":"bob"}"#,
                                   prevHash: AuditLog.genesisHash)
        #expect(entry.canonical == #"{"action":"owner.add","actor":"alice","after":"{\"id\":\"bob\"}","at":1767225600,"before":null,"command":"owner add","entity_id":"bob","entity_kind":"owner","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1}"#)
        // Computed independently with Python's hashlib over the same text.
        #expect(entry.hash == "3a9872471212ff858cee74d59a1095829160fdca280e406fe5f0ef3d9a96005f")
    }

    @Test func cleanHistoryVerifies() throws {
        let fixture = try AuditFixture()
        let result = try fixture.verify()
        #expect(result.ok)
        #expect(result.entries == 5)
        #expect(result.head == (try AuditLog.head(fixture.db)).hash)
        #expect(try fixture.verify(head: result.head).ok)
    }

    @Test func emptyLogVerifiesWithTheGenesisHead() throws {
        let store = try Store.inMemory()
        let result = try AuditVerifier.verify(store.db)
        #expect(result.ok && result.entries == 0 && result.head == String(repeating: "0", count: 64))
    }

    @Test func editedEntryIsNamed() throws {
        let fixture = try AuditFixture()
        try fixture.db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        let result = try fixture.verify()
        #expect(!result.ok)
        #expect(result.problems.first?.seq == 3)
        #expect(result.problems.first?.message.contains("altered") == true)
    }

    @Test func deletedEntryIsNamed() throws {
        let fixture = try AuditFixture()
        try fixture.db.execute("DELETE FROM audit_log WHERE seq = 2")
        let result = try fixture.verify()
        #expect(result.problems.first?.seq == 2)
        #expect(result.problems.first?.message.contains("missing") == true)
        // The agent's only entry is gone, so its row now has none.
        #expect(result.problems.contains { $0.entity == "agent bot" && $0.message.contains("no audit entry") })
    }

    @Test func reorderedEntriesAreNamed() throws {
        let fixture = try AuditFixture()
        try fixture.db.execute("UPDATE audit_log SET seq = 100 WHERE seq = 3")
        try fixture.db.execute("UPDATE audit_log SET seq = 3 WHERE seq = 4")
        try fixture.db.execute("UPDATE audit_log SET seq = 4 WHERE seq = 100")
        let result = try fixture.verify()
        #expect(result.problems.first?.seq == 3)
    }

    @Test func insertedEntryIsNamed() throws {
        let fixture = try AuditFixture()
        // Shift entries 3... up by one and slip a forged entry in at 3, linked to entry 2.
        for seq in stride(from: 5, through: 3, by: -1) {
            try fixture.db.execute("UPDATE audit_log SET seq = seq + 1 WHERE seq = ?", [.int(Int64(seq))])
        }
        let prev = try fixture.db.scalar("SELECT hash FROM audit_log WHERE seq = 2").text!
        let forged = AuditLog.Entry(seq: 3, at: AuditFixture.t0, actor: "mallory", command: "x", action: "token.update",
                                    entityKind: "token", entityID: "t9", before: nil, after: nil, prevHash: prev)
        try fixture.db.execute("INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)",
                               [.int(3), .int(forged.at), .text(forged.actor), .text(forged.command), .text(forged.action),
                                .text(forged.entityKind), .text(forged.entityID), .text(forged.prevHash), .text(forged.hash)])
        let result = try fixture.verify()
        // The forged entry hashes correctly; the entry after it (formerly 3, now 4) no longer does.
        #expect(result.problems.first?.seq == 4)
    }

    @Test func tokenEditedDirectlyIsNamedWithItsFields() throws {
        let fixture = try AuditFixture()
        try fixture.db.execute("UPDATE tokens SET purpose = 'exfiltrate', expires_at = NULL WHERE id = 't2'")
        let result = try fixture.verify()
        #expect(result.problemCount == 1)
        let problem = try #require(result.problems.first)
        #expect(problem.entity == "token t2")
        #expect(problem.message.contains("entry 4"))
        #expect(problem.message.contains("expires_at, purpose"))
    }

    @Test func lastUsedAtIsNotAuditedPerUseButCannotRunAheadOfTheChain() throws {
        let fixture = try AuditFixture()
        // Within what the chain covers (no later than the token's last entry): not an entry per use, so it passes.
        try fixture.db.execute("UPDATE tokens SET last_used_at = (SELECT min(at) FROM audit_log) WHERE id = 't1'")
        #expect(try fixture.verify().ok)
        // Later than any recorded use and the token's last entry: an idle token made to look used.
        try fixture.db.execute("UPDATE tokens SET last_used_at = (SELECT max(at) FROM audit_log) + 86400 WHERE id = 't1'")
        let result = try fixture.verify()
        #expect(result.problemCount == 1)
        #expect(result.problems.first?.entity == "token t1")
        #expect(result.problems.first?.message.contains("later than its latest recorded use and its last audit entry") == true)
    }

    @Test func rowsInsertedOrDeletedDirectlyAreNamed() throws {
        let fixture = try AuditFixture()
        try fixture.db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('eve', 'Eve', 'e@x.io', 'active', 1, 1)")
        try fixture.db.execute("DELETE FROM tokens WHERE id = 't2'")
        let result = try fixture.verify()
        #expect(result.problemCount == 2)
        #expect(result.problems.contains { $0.entity == "owner eve" && $0.message.contains("no audit entry") })
        #expect(result.problems.contains { $0.entity == "token t2" && $0.message.contains("is missing") && $0.message.contains("entry 4") })
    }

    @Test func pinnedHeadFailsAfterHistoryIsRewritten() throws {
        let fixture = try AuditFixture()
        let pinned = try AuditLog.head(fixture.db).hash
        try fixture.db.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
        try fixture.rehash(from: 3)
        // A consistent forgery passes on its own...
        #expect(try fixture.verify().ok)
        // ...but not against the head kept elsewhere.
        let result = try fixture.verify(head: pinned)
        #expect(result.problemCount == 1)
        #expect(result.problems.first?.message.contains("not in the chain") == true)
    }

    @Test func pinnedHeadStillPassesAfterLaterAppends() throws {
        let fixture = try AuditFixture()
        let pinned = try AuditLog.head(fixture.db).hash
        let audit = AuditContext(actor: "tester", command: "test", at: AuditFixture.t0 + 60)
        try fixture.db.writeTransaction { try Registry.register(fixture.db, AuditFixture.token("t3"), audit: audit) }
        #expect(try fixture.verify(head: pinned).ok)
    }

    @Test func hashFormatIsChecked() {
        #expect(AuditVerifier.isHash(String(repeating: "a", count: 64)))
        #expect(!AuditVerifier.isHash(String(repeating: "A", count: 64)))
        #expect(!AuditVerifier.isHash("abc"))
    }

    @Test func queryFiltersAndOrdersNewestFirst() throws {
        let fixture = try AuditFixture()
        var seqs: [Int64] = []
        try AuditQuery(token: "t1").forEach(fixture.db) { seqs.append($0.seq) }
        #expect(seqs == [5, 3])
        seqs = []
        try AuditQuery(owner: "alice").forEach(fixture.db) { seqs.append($0.seq) }
        #expect(seqs == [5, 4, 3, 2, 1])
        seqs = []
        try AuditQuery(actor: "nobody").forEach(fixture.db) { seqs.append($0.seq) }
        #expect(seqs.isEmpty)
        seqs = []
        try AuditQuery(limit: 2).forEach(fixture.db) { seqs.append($0.seq) }
        #expect(seqs == [5, 4])
    }

    @Test func changeSummaryShowsBeforeAndAfter() throws {
        let fixture = try AuditFixture()
        var summary = ""
        try AuditQuery(token: "t1", limit: 1).forEach(fixture.db) { summary = $0.changeSummary }
        #expect(summary == "purpose: ci -> deploy")
    }
}

/// A store audited before a migration added a column verifies after it: the old entries have no key for the
/// column, and the row holds its null.
@Suite struct AddedColumnVerifyTests {
    @Test func aMissingKeyEqualsANullColumnButNothingElse() throws {
        let recorded = #"{"id":"t1","kind":"token","purpose":"p"}"#
        #expect(AuditVerifier.sameAllowingAddedColumns(recorded: recorded, current: .object(["id": "t1", "kind": "token", "purpose": "p", "issuer": .null])))
        #expect(!AuditVerifier.sameAllowingAddedColumns(recorded: recorded, current: .object(["id": "t1", "kind": "token", "purpose": "p", "issuer": "gw"])))
        #expect(!AuditVerifier.sameAllowingAddedColumns(recorded: recorded, current: .object(["id": "t1", "kind": "token", "purpose": "q", "issuer": .null])))
        #expect(!AuditVerifier.sameAllowingAddedColumns(recorded: recorded, current: .object(["id": "t1", "kind": "token"])))
    }
}
