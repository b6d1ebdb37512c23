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

/// The HTML report and `report controls` compose `Check.run` and the reports; these check the pieces they add
/// (findings grouped per token, controls counted per token, owners with every state) against plain recomputations
/// from `check`'s own finding list, on a store the CLI cannot build (an owner never registered).
@Suite("HTML report data")
struct HTMLReportDataTests {
    static let day: Int64 = 86_400
    static let asOf: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    /// Tokens in one state, in several, in none; ids not registered in order (so storage order is not id order);
    /// a policy broken by a token in a state, by one in none, and by one twice.
    func store() throws -> Store {
        let store = try Store.inMemory()
        let db = store.db
        let t0 = Self.asOf - 400 * Self.day
        try Registry.insert(db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: "platform", createdAt: t0, updatedAt: t0))
        // github accountable (alice in both roles), so these tokens are in no unaccountable state.
        try Registry.insert(db, GovernedSystem(id: "github", policyOwner: "alice", platformOwner: "alice", createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Owner(id: "bob", name: "Bob", email: "b@example.com", team: nil, status: "departed",
                                      departedAt: Self.asOf - 10 * Self.day, createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: t0, updatedAt: t0))
        func token(_ id: String, owner: String = "alice", issued: Int64, expires: Int64?, rotated: Int64? = nil) -> Token {
            Token(id: id, ownerID: owner, purpose: "p", system: "github", agentID: "bot", environment: nil, scopes: [],
                  issuedAt: issued, expiresAt: expires, rotateEvery: 90 * Self.day, lastRotatedAt: rotated,
                  reviewEvery: 365 * Self.day, lastReviewedAt: rotated, fingerprint: nil, labels: [:], lastUsedAt: rotated,
                  createdAt: t0, updatedAt: t0)
        }
        let recent = Self.asOf - 5 * Self.day
        try Registry.insert(db, token("z-fine", issued: recent, expires: Self.asOf + 60 * Self.day, rotated: recent))
        try Registry.insert(db, token("m-old", issued: t0, expires: Self.asOf - 3 * Self.day))
        try Registry.insert(db, token("a-never", issued: recent, expires: nil, rotated: recent))
        try Registry.insert(db, token("b-bob", owner: "bob", issued: recent, expires: Self.asOf + 30 * Self.day, rotated: recent))
        try Registry.insert(db, token("c-long", issued: recent, expires: Self.asOf + 300 * Self.day, rotated: recent))
        try db.executeScript("PRAGMA foreign_keys = OFF")
        try Registry.insert(db, token("g-ghost", owner: "ghost", issued: t0, expires: Self.asOf - 50 * Self.day))
        try db.executeScript("PRAGMA foreign_keys = ON")
        return store
    }

    let policy = PolicyGate(policy: try! Policy.parse("""
        {"version": 1, "defaults": {"max_ttl": "200d", "forbid_no_expiry": true}, "fail_on": ["no-expiry"]}
        """, name: "p.json"), path: "p.json")

    @Test("each token's findings, grouped without decoding, are check's findings of that token", arguments: [false, true])
    func tokensWithFindings(withPolicy: Bool) throws {
        let result = try Check.run(try store().db, asOf: Self.asOf, policy: withPolicy ? policy : nil)
        var grouped: [(id: String, kinds: [String])] = []
        result.forEachTokenWithFindings { t in
            let id = t.handle.map { result.states.tokenID($0) } ?? t.violations.first!.tokenID
            let states = DerivedState.allCases.indices.filter { t.stateMask & (1 << $0) != 0 }.map { DerivedState.allCases[$0].rawValue }
            grouped.append((id, states + t.violations.map(\.kind)))
        }
        var expected: [String: [String]] = [:]
        for f in result.findings { expected[f.tokenID, default: []].append(f.kind) }
        #expect(grouped.count == expected.count)
        for (id, kinds) in grouped { #expect(kinds.sorted() == expected[id]?.sorted(), "\(id)") }
        // Tokens in a state come first, in id order; a token that only breaks the policy comes after them.
        let inState = grouped.prefix { !$0.kinds.allSatisfy { $0 == Check.policyViolation } }.map(\.id)
        #expect(inState == ["a-never", "b-bob", "g-ghost", "m-old"])
        if withPolicy { #expect(grouped.map(\.id).last == "c-long") }
        #expect(result.stateCounts == DerivedState.allCases.map { s in result.findings.filter { $0.kind == s.rawValue }.count })
    }

    @Test("a token fails a control when one of its check findings lists it, counted once", arguments: [false, true])
    func controlsCountTokensByTheirFindings(withPolicy: Bool) throws {
        let db = try store().db
        let result = try Check.run(db, asOf: Self.asOf, policy: withPolicy ? policy : nil)
        var tokens: [Control: Set<String>] = [:]
        for f in result.findings {
            for c in Controls.controls(forFinding: f.kind, rule: f.rule) { tokens[c, default: []].insert(f.tokenID) }
        }
        let rows = Reports.controls(result)
        #expect(rows.map(\.control) == Controls.all)
        #expect(rows.map(\.failingTokens) == Controls.all.map { tokens[$0]?.count ?? 0 })
        #expect(rows.contains { $0.failingTokens > 1 })
        #expect(try Reports.controls(db, asOf: Self.asOf, policy: withPolicy ? policy : nil) == rows)
    }

    @Test("the page's data is check's findings, the owners report's rows and the offboarding report's rows")
    func buildComposesCheckAndReports() throws {
        let db = try store().db
        let report = try HTMLReport.build(db, asOf: Self.asOf, generatedAt: Self.asOf, storePath: ":memory:",
                                          policy: policy, policyPath: "p.json", maxRows: 4)
        let result = try Check.run(db, asOf: Self.asOf, policy: policy)
        #expect(report.findings == Array(result.findings.prefix(4)))
        #expect(report.findingsTotal == result.findings.count)
        // The owner never registered is listed, as `report owners` lists it (the page used to leave it out).
        #expect(report.owners.map(\.summary) == (try Reports.ownerSummary(db: db, asOf: Self.asOf)))
        #expect(report.owners.map(\.summary.ownerID).contains("ghost"))
        let offboarding = try Reports.offboarding(db, asOf: Self.asOf)
        #expect(report.offboarding == Array(offboarding.prefix(4)) && report.offboardingTotal == offboarding.count)
        #expect(report.controls == Reports.controls(result))
        // Each owner's states are its tokens' state findings.
        var byOwner: [String: [DerivedState: Int]] = [:]
        for f in result.findings { if let s = DerivedState(rawValue: f.kind) { byOwner[f.ownerID, default: [:]][s, default: 0] += 1 } }
        for o in report.owners { #expect(o.byState == (byOwner[o.summary.ownerID] ?? [:]), "\(o.summary.ownerID)") }
        // And the chart counts each token once, under its most severe state (DerivedState's order).
        var statesOfToken: [String: (owner: String, states: [DerivedState])] = [:]
        for f in result.findings {
            if let s = DerivedState(rawValue: f.kind) { statesOfToken[f.tokenID, default: (f.ownerID, [])].states.append(s) }
        }
        #expect(statesOfToken.values.contains { $0.states.count >= 2 }, "a token in several states")
        var worstByOwner: [String: [DerivedState: Int]] = [:]
        for (owner, states) in statesOfToken.values { worstByOwner[owner, default: [:]][states.min()!, default: 0] += 1 }
        for o in report.owners { #expect(o.byWorstState == (worstByOwner[o.summary.ownerID] ?? [:]), "\(o.summary.ownerID)") }
        #expect(report.flaggedTokens == Set(result.findings.map(\.tokenID)).count)
        #expect(report.policyViolationTokens == Set(result.findings.filter { $0.kind == Check.policyViolation }.map(\.tokenID)).count)
        #expect(report.tokensActive == 6 && report.tokensRevoked == 0 && report.ownersTotal == 2)
    }

    @Test("the page's audit verification reads the chain as it stood when it was started, not when it is let run")
    func concurrentVerificationSnapshotIsTakenAtStart() throws {
        let dir = StoreTests.TempDir()
        let store = try Store.open(path: dir.file("s.db"), access: .write)
        let db = store.db
        let audit = AuditContext(actor: "tester", command: "test", at: Self.asOf)
        func owner(_ id: String) -> Owner {
            Owner(id: id, name: id, email: "\(id)@example.com", team: nil, createdAt: Self.asOf, updatedAt: Self.asOf)
        }
        try db.writeTransaction { try Registry.addOwner(db, owner("alice"), audit: audit) }
        let verification = try HTMLReport.ConcurrentAuditCheck(connection: db.secondConnection())
        // Committed while check would run, before the verification may start: not in its snapshot.
        try db.writeTransaction { try Registry.addOwner(db, owner("bob"), audit: audit) }
        let head = try AuditLog.head(db)
        #expect(head.seq == 2)
        verification.proceed()
        let state = try verification.wait()
        #expect(state.verified == true && state.entries == 1, "\(state)")
        #expect(state.head != head.hash)
    }
}
