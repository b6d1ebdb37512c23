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

/// The changes made for speed at a million tokens keep behaviour: brief state queries, the shared row layout,
/// table widths and XML escaping (the state scan's own plan: StateEvaluationTests).
@Suite("Query performance changes")
struct QueryPerformanceTests {
    static let day: Int64 = 86_400
    static let asOf: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    func store() throws -> Store {
        let store = try Store.inMemory()
        let db = store.db
        let t0 = Self.asOf - 200 * Self.day
        try Registry.insert(db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil, createdAt: t0, updatedAt: t0))
        // github accountable (alice in both roles), so these tokens are in no unaccountable state.
        try Registry.insert(db, GovernedSystem(id: "github", policyOwner: "alice", platformOwner: "alice", createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Owner(id: "dave", name: "Dave", email: "d@example.com", team: nil, status: "departed",
                                      departedAt: Self.asOf - 3 * Self.day, createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: t0, updatedAt: t0))
        func token(_ id: String, owner: String = "alice", expires: Instant?, rotated: Instant?, labels: [String: String] = [:]) -> Token {
            Token(id: id, ownerID: owner, purpose: "p", system: "github", agentID: "bot", environment: "prod",
                  scopes: ["repo:read"], issuedAt: t0, expiresAt: expires, rotateEvery: 90 * Self.day, lastRotatedAt: rotated,
                  reviewEvery: 365 * Self.day, lastReviewedAt: nil, fingerprint: nil, labels: labels,
                  lastUsedAt: Self.asOf - Self.day, createdAt: t0, updatedAt: t0)
        }
        let recent = Self.asOf - 10 * Self.day
        try Registry.insert(db, token("a-expired", expires: Self.asOf - 5 * Self.day, rotated: recent, labels: ["cc": "7"]))
        try Registry.insert(db, token("b-healthy", expires: Self.asOf + 30 * Self.day, rotated: recent))
        try Registry.insert(db, token("c-departed-never", owner: "dave", expires: nil, rotated: recent))
        try Registry.insert(db, token("d-rotation", expires: Self.asOf + 30 * Self.day, rotated: nil))
        return store
    }

    @Test("a brief state query finds the same tokens in the same states as a full one")
    func briefMatchesFull() throws {
        let db = try store().db
        var brief = StateQuery(asOf: Self.asOf)
        brief.fullTokens = false
        let full = try StateQuery(asOf: Self.asOf).all(db)
        let short = try brief.all(db)
        #expect(short.map(\.token.id) == ["a-expired", "c-departed-never", "d-rotation"])
        #expect(short.map { $0.states.map(\.rawValue) } == [["expired"], ["orphaned", "no-expiry"], ["rotation-overdue"]])
        #expect(full.map(\.token.id) == short.map(\.token.id))
        #expect(full.map(\.states) == short.map(\.states))
        #expect(short.map { $0.reason($0.states[0], maxUnused: 90 * Self.day) }
                == ["expired 2026-05-27", "owner dave departed 2026-05-29", "rotation due 2026-02-11 (never rotated since issue 2025-11-13, every 90d)"])
        // The brief query leaves the columns no report reads empty; the full one reads them.
        #expect(short[0].token.labels.isEmpty && short[0].token.purpose.isEmpty)
        #expect(full[0].token.labels == ["cc": "7"] && full[0].token.scopes == ["repo:read"])
        #expect(short[0].token.environment == "prod")
    }

    @Test("rows look columns up by name through the shared layout: first of a repeated name, missing is null")
    func rowLayout() throws {
        let db = try store().db
        let rows = try db.rows("SELECT 1 AS a, 'x' AS b, 2 AS a UNION ALL SELECT 3, 'é', 4")
        #expect(rows.count == 2)
        #expect(try rows[0].int("a") == 1 && rows[0].text("b") == "x")
        // An unknown column throws instead of reading as NULL.
        #expect(throws: DatabaseError.self) { try rows[0].value("missing") }
        #expect(try rows[1].int("a") == 3 && rows[1].text("b") == "é")
        #expect(rows[1].columns == ["a", "b", "a"])
        #expect(try Row(columns: ["k"], values: [.int(9)]).int("k") == 9)
    }

    @Test("tables pad by characters, non-ASCII cells included")
    func tableWidths() {
        let text = Render.table(headers: ["ID", "NAME"], rows: [["é1", "x"], ["abcd", "y"]], colour: false)
        #expect(text == "ID    NAME\né1    x\nabcd  y\n")
        let coloured = Render.table(headers: ["ID"], rows: [["a"]], colour: true)
        #expect(coloured == "\u{1B}[1mID\u{1B}[0m\na\n")
    }

    @Test("XML escaping returns plain text unchanged and still escapes and drops what it must")
    func xmlEscape() {
        #expect(XML.escape("tok-0000001-github") == "tok-0000001-github")
        #expect(XML.escape("café") == "café")
        #expect(XML.escape("a<b & \"c\" 'd'>") == "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;")
        #expect(XML.escape("x\u{1}y\r\n\u{FFFE}z") == "xy&#13;\nz")
    }
}
