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

@Suite struct RegistryTests {
    let now: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z
    var audit: AuditContext { AuditContext(actor: "tester", command: "token register", at: now) }

    func seeded() throws -> Store {
        let store = try Store.inMemory()
        try store.db.writeTransaction {
            try Registry.addOwner(store.db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil, createdAt: now, updatedAt: now), audit: audit)
            try Registry.addAgent(store.db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: now, updatedAt: now), audit: audit)
        }
        return store
    }

    func token(_ id: String, fingerprint: String? = nil, expires: Instant? = nil, owner: String = "alice", agent: String = "bot") -> Token {
        Token(id: id, ownerID: owner, purpose: "test", system: "github", agentID: agent, environment: "prod", scopes: ["repo:read"],
              issuedAt: now, expiresAt: expires, rotateEvery: Token.defaultRotateEvery, lastRotatedAt: nil,
              reviewEvery: Token.defaultReviewEvery, lastReviewedAt: nil, fingerprint: fingerprint, labels: ["team": "x"],
              createdAt: now, updatedAt: now)
    }

    func count(_ store: Store, _ table: String) throws -> Int64 {
        switch table {
        case "tokens": return try store.db.scalar("SELECT count(*) FROM tokens").int ?? -1
        default: return try store.db.scalar("SELECT count(*) FROM audit_log").int ?? -1
        }
    }

    func dataError(_ body: () throws -> Void) -> NHIError? {
        do { try body(); return nil } catch let error as NHIError { return error } catch { return nil }
    }

    @Test func registerWritesTheTokenAndOneAuditEntryInTheSameTransaction() throws {
        let store = try seeded()
        try store.db.writeTransaction { try Registry.register(store.db, token("t1", expires: now + 86_400), audit: audit) }
        #expect(try count(store, "tokens") == 1)
        #expect(try count(store, "audit") == 3)
        let entry = try #require(try store.db.row("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1"))
        #expect(try entry.text("action") == "token.register")
        #expect(try entry.text("actor") == "tester")
        #expect(try entry.text("command") == "token register")
        #expect(try entry.text("entity_kind") == "token")
        #expect(try entry.text("entity_id") == "t1")
        #expect(try entry.int("at") == now)
        #expect(try entry.value("before") == .null)
        let after = try JSONParser.parse(entry.string("after"))
        #expect(after["id"]?.stringValue == "t1")
        #expect(after["expires_at"]?.stringValue == "2026-06-02T00:00:00Z")
        #expect(after["labels"]?["team"]?.stringValue == "x")
        let back = try #require(try Registry.token(store.db, "t1"))
        #expect(back == token("t1", expires: now + 86_400))
    }

    @Test func aFailedWriteLeavesNeitherTheRowNorItsAuditEntry() throws {
        let store = try seeded()
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try store.db.writeTransaction {
                try Registry.register(store.db, token("t1"), audit: audit)
                throw Abort()
            }
        }
        #expect(try count(store, "tokens") == 0)
        #expect(try count(store, "audit") == 2)
        #expect(!store.db.inTransaction)
    }

    @Test func aFingerprintRegisteredToAnotherTokenIsRefused() throws {
        let store = try seeded()
        let fp = SHA256.fingerprint(ofSecret: Array("value-one".utf8))
        try store.db.writeTransaction { try Registry.register(store.db, token("t1", fingerprint: fp), audit: audit) }
        let error = dataError { try store.db.writeTransaction { try Registry.register(store.db, token("t2", fingerprint: fp), audit: audit) } }
        #expect(error?.kind == .data)
        #expect(error?.message.contains("already registered as token 't1'") == true)
        #expect(try count(store, "tokens") == 1)
        #expect(try count(store, "audit") == 3)
        // The same token keeping its own fingerprint on update is not a conflict.
        let before = try #require(try Registry.token(store.db, "t1"))
        var changed = before
        changed.purpose = "renamed"
        try store.db.writeTransaction { try Registry.save(store.db, changed, before: before, action: "token.update", audit: audit) }
        #expect(try Registry.token(store.db, "t1")?.purpose == "renamed")
    }

    @Test func expiryAtOrBeforeIssueIsRefused() throws {
        let store = try seeded()
        for expires in [now, now - 1, now - 86_400] {
            let error = dataError { try store.db.writeTransaction { try Registry.register(store.db, token("t1", expires: expires), audit: audit) } }
            #expect(error?.message.contains("must be after the issue time") == true)
        }
        #expect(try count(store, "tokens") == 0)
    }

    @Test func unknownOwnerOrAgentSaysHowToAddIt() throws {
        let store = try seeded()
        let owner = dataError { try store.db.writeTransaction { try Registry.register(store.db, token("t1", owner: "carol"), audit: audit) } }
        #expect(owner?.message == "unknown owner 'carol' (add it with: nhi owner add carol --name NAME --email EMAIL)")
        let agent = dataError { try store.db.writeTransaction { try Registry.register(store.db, token("t1", agent: "ghost"), audit: audit) } }
        #expect(agent?.message == "unknown agent 'ghost' (add it with: nhi agent add ghost --system SYSTEM --owner OWNER)")
        #expect(try count(store, "tokens") == 0)
    }

    @Test func duplicatesAreRefused() throws {
        let store = try seeded()
        try store.db.writeTransaction { try Registry.register(store.db, token("t1"), audit: audit) }
        #expect(dataError { try store.db.writeTransaction { try Registry.register(store.db, token("t1"), audit: audit) } }?.message
            .hasPrefix("token 't1' already exists") == true)
        #expect(dataError { try store.db.writeTransaction {
            try Registry.addOwner(store.db, Owner(id: "alice", name: "A", email: "a@example.com", team: nil, createdAt: now, updatedAt: now), audit: audit)
        } }?.message.hasPrefix("owner 'alice' already exists") == true)
    }

    @Test func revokeRecordsBeforeAndAfter() throws {
        let store = try seeded()
        try store.db.writeTransaction { try Registry.register(store.db, token("t1"), audit: audit) }
        let revokeAudit = AuditContext(actor: "sec", command: "token revoke", at: now + 60)
        try store.db.writeTransaction { try Registry.revoke(store.db, id: "t1", reason: "leaked", audit: revokeAudit) }
        let t = try #require(try Registry.token(store.db, "t1"))
        #expect(t.status == "revoked")
        #expect(t.revokedAt == now + 60)
        #expect(t.revokeReason == "leaked")
        let entry = try #require(try store.db.row("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1"))
        #expect(try JSONParser.parse(entry.string("before"))["status"]?.stringValue == "active")
        #expect(try JSONParser.parse(entry.string("after"))["status"]?.stringValue == "revoked")
        #expect(dataError { try store.db.writeTransaction { try Registry.revoke(store.db, id: "t1", reason: "again", audit: revokeAudit) } }?
            .message == "token 't1' is already revoked")
    }

    @Test func auditEntriesFormAChain() throws {
        let store = try seeded()
        try store.db.writeTransaction { try Registry.register(store.db, token("t1"), audit: audit) }
        let rows = try store.db.rows("SELECT * FROM audit_log ORDER BY seq")
        #expect(try rows.map { try $0.int("seq") } == [1, 2, 3])
        #expect(try rows[0].text("prev_hash") == AuditLog.genesisHash)
        #expect(try rows[1].text("prev_hash") == rows[0].text("hash"))
        #expect(try rows[2].text("prev_hash") == rows[1].text("hash"))
    }
}
