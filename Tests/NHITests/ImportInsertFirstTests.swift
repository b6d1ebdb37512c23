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

/// Import inserts a new record first and lets the store's constraints refuse it; a refused record must then be
/// reported exactly as the checked path reports it, the first failing check winning as before.
@Suite struct ImportInsertFirstTests {
    let now: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z
    var audit: AuditContext { AuditContext(actor: "tester", command: "import", at: now) }
    static let fp = "sha256:" + String(repeating: "ab", count: 32)

    func seeded() throws -> Store {
        let store = try Store.inMemory()
        try store.db.writeTransaction {
            try Registry.addOwner(store.db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil, createdAt: now, updatedAt: now), audit: audit)
            try Registry.addAgent(store.db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: now, updatedAt: now), audit: audit)
            try Registry.register(store.db, Token(id: "existing", ownerID: "alice", purpose: "p", system: "github", agentID: "bot",
                                                  environment: nil, scopes: [], issuedAt: now, expiresAt: nil,
                                                  rotateEvery: Token.defaultRotateEvery, lastRotatedAt: nil,
                                                  reviewEvery: Token.defaultReviewEvery, lastReviewedAt: nil,
                                                  fingerprint: Self.fp, labels: [:], createdAt: now, updatedAt: now), audit: audit)
        }
        return store
    }

    func token(_ id: String, owner: String = "alice", agent: String = "bot", issued: String = "2026-01-01",
               expires: String = "never", fingerprint: String? = nil, line: Int) -> ImportRecord {
        var fields: [String: JSON] = ["kind": "token", "id": .string(id), "owner": .string(owner), "purpose": "p",
                                      "system": "github", "agent": .string(agent), "issued_at": .string(issued),
                                      "expires_at": .string(expires)]
        if let fingerprint { fields["fingerprint"] = .string(fingerprint) }
        return ImportRecord(line: line, fields: fields)
    }

    func problems(_ records: [ImportRecord], conflict: Importer.Conflict = .fail) throws -> ([String], Importer.Counts, Int64) {
        let store = try seeded()
        var result: ([String], Importer.Counts) = ([], .init())
        try store.db.writeTransaction {
            let importer = try Importer(db: store.db, audit: audit, conflict: conflict, policy: nil, defaultKind: nil)
            #expect(importer.insertFirst)
            for record in records { try importer.process(record) }
            try importer.finish()
            result = (importer.problems.map(\.description), importer.counts)
        }
        return (result.0, result.1, try store.db.scalar("SELECT count(*) FROM audit_log").int ?? -1)
    }

    @Test func theFirstFailingCheckNamesTheProblem() throws {
        let (found, counts, entries) = try problems([
            token("existing", owner: "nobody", line: 2),                        // exists beats an unknown owner
            token("existing", fingerprint: Self.fp, line: 3),                   // exists beats a reused fingerprint
            token("t1", owner: "nobody", agent: "ghost", line: 4),              // unknown owner beats unknown agent
            token("t2", agent: "ghost", fingerprint: Self.fp, line: 5),         // unknown agent beats the fingerprint
            token("t3", owner: "nobody", issued: "2026-06-01", expires: "2026-05-01", line: 6), // owner beats expiry
            token("t4", issued: "2026-06-01", expires: "2026-05-01", fingerprint: Self.fp, line: 7), // expiry beats fingerprint
            token("t5", fingerprint: Self.fp, line: 8),
            token("t6", line: 9),                                               // fine
            ImportRecord(line: 10, fields: ["kind": "agent", "id": "bot", "system": "s", "owner": "nobody"]),
            ImportRecord(line: 11, fields: ["kind": "agent", "id": "bot2", "system": "s", "owner": "nobody"]),
            ImportRecord(line: 12, fields: ["kind": "owner", "id": "alice", "name": "A", "email": "a@example.com"]),
        ])
        #expect(found == [
            "line 2, field id: token 'existing' already exists (pass --on-conflict skip or --on-conflict update)",
            "line 3, field id: token 'existing' already exists (pass --on-conflict skip or --on-conflict update)",
            "line 4, field owner: unknown owner 'nobody' (add it with: nhi owner add nobody --name NAME --email EMAIL)",
            "line 5, field agent: unknown agent 'ghost' (add it with: nhi agent add ghost --system SYSTEM --owner OWNER)",
            "line 6, field owner: unknown owner 'nobody' (add it with: nhi owner add nobody --name NAME --email EMAIL)",
            "line 7, field expires_at: --expires (2026-05-01T00:00:00Z) must be after the issue time (2026-06-01T00:00:00Z)",
            "line 8, field fingerprint: this secret is already registered as token 'existing': one credential must not be shared between tokens (OWASP NHI9, NHI reuse)",
            "line 10, field id: agent 'bot' already exists (pass --on-conflict skip or --on-conflict update)",
            "line 11, field owner: unknown owner 'nobody' (add it with: nhi owner add nobody --name NAME --email EMAIL)",
            "line 12, field id: owner 'alice' already exists (pass --on-conflict skip or --on-conflict update)",
        ])
        #expect(counts.created == 1)
        #expect(entries == 4) // the seed's three and t6's: a refused insert leaves no row and no entry
    }

    @Test func refusedInsertsStillSkipOrUpdate() throws {
        let (found, counts, entries) = try problems([token("existing", line: 2), token("new", line: 3)], conflict: .skip)
        #expect(found.isEmpty)
        #expect(counts.skipped == 1 && counts.created == 1)
        #expect(entries == 4)
        let updated = try problems([token("existing", line: 2)], conflict: .update)
        #expect(updated.0.isEmpty && updated.1.updated == 1 && updated.2 == 4)
    }
}
