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

/// Report builders and renderers against an in-memory store, for what the CLI cannot easily build: an agent
/// decommissioned while its token stays active, and an owner that was never registered.
@Suite("Report builders")
struct ReportsUnitTests {
    static let day: Int64 = 86_400
    static let asOf: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    func store() throws -> Store {
        let store = try Store.inMemory()
        let db = store.db
        let t0 = Self.asOf - 30 * Self.day
        try Registry.insert(db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil, createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "old", system: "github", ownerID: "alice", status: "decommissioned",
                                      decommissionedAt: Self.asOf - 2 * Self.day, createdAt: t0, updatedAt: t0))
        func token(_ id: String, owner: String = "alice", agent: String = "bot") -> Token {
            Token(id: id, ownerID: owner, purpose: "p", system: "github", agentID: agent, environment: nil, scopes: [],
                  issuedAt: t0, expiresAt: Self.asOf + 100 * Self.day, rotateEvery: 90 * Self.day, lastRotatedAt: nil,
                  reviewEvery: 90 * Self.day, lastReviewedAt: nil, fingerprint: nil, labels: [:], createdAt: t0, updatedAt: t0)
        }
        try Registry.insert(db, token("fine"))
        try Registry.insert(db, token("on-old-agent", agent: "old"))
        // An owner that was never registered: only possible in a store written by other tools.
        try db.executeScript("PRAGMA foreign_keys = OFF")
        try Registry.insert(db, token("ghost-owned", owner: "ghost"))
        try Registry.insert(db, token("no-agent", agent: "gone"))
        try db.executeScript("PRAGMA foreign_keys = ON")
        return store
    }

    @Test("offboarding names unknown owners, unknown agents and decommissioned agents")
    func offboardingReasons() throws {
        let rows = try Reports.offboarding(try store().db, asOf: Self.asOf)
        // Unknown since-dates sort first (nobody can say how long), then the decommissioned agent.
        #expect(rows.map(\.tokenID) == ["ghost-owned", "no-agent", "on-old-agent"])
        #expect(rows.map(\.reason) == ["owner ghost unknown", "agent gone unknown", "agent old decommissioned 2026-05-30"])
        #expect(rows.allSatisfy { $0.status == ["orphaned"] })
    }

    @Test("owner summary counts an unregistered owner as 'unknown'")
    func ownerSummary() throws {
        let owners = try Reports.ownerSummary(db: try store().db, asOf: Self.asOf)
        #expect(owners.map(\.ownerID) == ["alice", "ghost"])
        #expect(owners[0].active == 3 && owners[0].orphaned == 2)
        #expect(owners[1].status == "unknown" && owners[1].orphaned == 1)
        let total = Reports.totals(owners)
        #expect(total.active == 4 && total.orphaned == 3 && total.expired == 0)
    }

    @Test("StateQuery lookahead chooses rows at as-of + lookahead, flags stay at as-of, with extra arguments")
    func lookahead() throws {
        let db = try store().db
        var query = StateQuery(asOf: Self.asOf, states: [.expired])
        query.extraCondition = "t.owner_id = :owner"
        query.extraArguments = ["owner": .text("alice")]
        #expect(try query.all(db).isEmpty)
        // Every token expires at as-of + 100d: chosen at 101d, not at exactly 100d (strictly before).
        query.lookahead = 100 * Self.day
        #expect(try query.all(db).isEmpty)
        query.lookahead = 101 * Self.day
        let rows = try query.all(db)
        #expect(rows.map(\.token.id) == ["fine", "no-agent", "on-old-agent"])
        #expect(rows.allSatisfy { $0.states.isEmpty })
    }

    @Test("days round towards the past")
    func days() {
        #expect(Reports.days(from: 0, to: 0) == 0)
        #expect(Reports.days(from: 0, to: 86_399) == 0)
        #expect(Reports.days(from: 0, to: 86_400) == 1)
        #expect(Reports.days(from: 0, to: -1) == -1)
        #expect(Reports.days(from: 0, to: -86_400) == -1)
        #expect(Reports.days(from: 0, to: -86_401) == -2)
    }

    @Test("XML escaping and SARIF URIs")
    func escaping() {
        #expect(XML.escape("a<b>&\"c'\u{1}d") == "a&lt;b&gt;&amp;&quot;c&apos;d")
        #expect(SARIFOutput.percentEncoded("/tmp/my store/nhi.db") == "/tmp/my%20store/nhi.db")
    }

    @Test("check: policy-violation is accepted in --fail-on; unknown names are refused")
    func failOn() throws {
        #expect(try Check.parseFailOn("expired,policy-violation,expired") == ["expired", "policy-violation"])
        #expect(throws: NHIError.self) { try Check.parseFailOn("expired,") }
    }
}
