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

@Suite("Policy")
struct PolicyTests {
    static let day: Int64 = 86_400
    static let issued: Instant = 1_780_272_000 // 2026-06-01

    static let policy = try! Policy.parse("""
        {"version": 1,
         "defaults": {"max_ttl": "90d", "max_rotate_every": "60d", "allowed_scopes": ["repo:read"]},
         "systems": {"github": {"max_ttl": "30d", "max_rotate_every": "30d"}},
         "environments": {"prod": {"max_ttl": "7d"}, "staging": {"max_ttl": "60d", "allowed_scopes": ["repo:read", "repo:write"]}},
         "fail_on": ["expired", "policy-violation"]}
        """, name: "p.json")

    func token(system: String, environment: String?, ttl: Int64?, rotateEvery: Int64 = 30 * day, scopes: [String] = [],
               status: String = "active") -> Token {
        Token(id: "t", ownerID: "o", purpose: "p", system: system, agentID: "a", environment: environment, scopes: scopes,
              issuedAt: Self.issued, expiresAt: ttl.map { Self.issued + $0 }, rotateEvery: rotateEvery, lastRotatedAt: nil,
              reviewEvery: 90 * Self.day, lastReviewedAt: nil, fingerprint: nil, labels: [:], status: status,
              createdAt: Self.issued, updatedAt: Self.issued)
    }

    func rules(_ t: Token) -> [String] { Self.policy.violations(of: t).map(\.rule) }

    @Test func environmentWinsOverSystemWhichWinsOverDefaultAtTheBoundary() {
        // environment prod: 7d, even for github (30d) tokens
        #expect(rules(token(system: "github", environment: "prod", ttl: 7 * Self.day)) == [])
        #expect(rules(token(system: "github", environment: "prod", ttl: 7 * Self.day + 1)) == ["max_ttl"])
        // environment staging is looser than system github, and still wins
        #expect(rules(token(system: "github", environment: "staging", ttl: 60 * Self.day)) == [])
        #expect(rules(token(system: "github", environment: "staging", ttl: 60 * Self.day + 1)) == ["max_ttl"])
        // system github when the environment sets no max_ttl
        #expect(rules(token(system: "github", environment: "dev", ttl: 30 * Self.day)) == [])
        #expect(rules(token(system: "github", environment: nil, ttl: 30 * Self.day + 1)) == ["max_ttl"])
        // default otherwise
        #expect(rules(token(system: "slack", environment: "dev", ttl: 90 * Self.day)) == [])
        #expect(rules(token(system: "slack", environment: nil, ttl: 90 * Self.day + 1)) == ["max_ttl"])
        // an expiry of never breaks any max_ttl
        #expect(rules(token(system: "slack", environment: nil, ttl: nil)) == ["max_ttl"])
    }

    @Test func violationMessagesNameTheLimitAndWhereItCameFrom() {
        let found = Self.policy.violations(of: token(system: "github", environment: "prod", ttl: 8 * Self.day,
                                                     rotateEvery: 31 * Self.day, scopes: ["repo:read", "repo:write"]))
        #expect(found.map(\.message) == [
            "ttl 8d exceeds max_ttl 7d (environment prod)",
            "rotate_every 31d exceeds max_rotate_every 30d (system github)",
            "scope repo:write not in allowed_scopes repo:read (default)",
        ])
        #expect(rules(token(system: "slack", environment: "staging", ttl: Self.day, scopes: ["repo:write"])) == [])
        #expect(rules(token(system: "slack", environment: nil, ttl: Self.day, rotateEvery: 60 * Self.day)) == [])
        #expect(rules(token(system: "slack", environment: nil, ttl: Self.day, rotateEvery: 60 * Self.day + 60)) == ["max_rotate_every"])
    }

    @Test func revokedTokensAreNotJudged() {
        #expect(rules(token(system: "github", environment: "prod", ttl: nil, status: "revoked")) == [])
    }

    @Test func failOnAndMaxUnusedAreExposedToCheck() throws {
        #expect(PolicyGate(policy: Self.policy, path: "p.json").failOn == ["expired", "policy-violation"])
        let other = try Policy.parse(#"{"defaults": {"max_unused": "45d"}}"#, name: "q")
        #expect(PolicyGate(policy: other, path: "q").maxUnused == 45 * Self.day)
    }

    @Test(arguments: [
        (#"{"defaults": {"max_tll": "30d"}}"#, "defaults.max_tll: unknown key"),
        (#"{"systems": {"github": {"max_ttl": "30 days"}}}"#, "systems.github.max_ttl: '30 days' is not a duration"),
        (#"{"environments": {"prod": {"require_fingerprint": "yes"}}}"#, "environments.prod.require_fingerprint: must be true or false"),
        (#"{"defaults": {"allowed_scopes": ["a", 1]}}"#, "defaults.allowed_scopes[1]: 1 is not a scope"),
        (#"{"fail_on": ["expired", "sideways"]}"#, "fail_on[1]: \"sideways\" is not a state"),
        (#"{"version": 2}"#, "version: must be 1"),
        (#"{"colour": "red"}"#, "colour: unknown key"),
        (#"{"systems": []}"#, "systems: must be an object"),
    ])
    func badPolicyFilesNameThePathOfTheBadKey(text: String, expected: String) {
        do {
            _ = try Policy.parse(text, name: "p.json")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.kind == .data)
            #expect(error.message.contains(expected), "\(error.message)")
        }
    }

    @Test func everyProblemIsListedNotOnlyTheFirst() {
        do {
            _ = try Policy.parse(#"{"defaults": {"max_ttl": "x", "max_unused": "y"}, "extra": 1}"#, name: "p.json")
            Issue.record("accepted")
        } catch {
            #expect(error.details.count == 3)
            #expect(error.details.contains { $0.hasPrefix("defaults.max_unused:") })
            #expect(error.details.contains { $0.hasPrefix("extra: unknown key") })
        }
    }

    @Test func maxUnusedIsJudgedPerEnvironmentThenSystemThenDefault() throws {
        let store = try Store.inMemory()
        let db = store.db
        let audit = AuditContext(actor: "t", command: "test", at: Self.issued)
        let gate = PolicyGate(policy: try Policy.parse("""
            {"defaults": {"max_unused": "30d"}, "systems": {"github": {"max_unused": "10d"}},
             "environments": {"prod": {"max_unused": "5d"}}}
            """, name: "p"), path: "p")
        try db.writeTransaction {
            try Registry.addOwner(db, Owner(id: "o", name: "O", email: "o@example.com", team: nil, createdAt: Self.issued, updatedAt: Self.issued), audit: audit)
            try Registry.addAgent(db, Agent(id: "a", system: "github", ownerID: "o", createdAt: Self.issued, updatedAt: Self.issued), audit: audit)
            for (id, system, env) in [("gh-prod", "github", "prod"), ("gh-dev", "github", "dev"), ("slack", "slack", nil as String?)] {
                var t = token(system: system, environment: env, ttl: 20 * Self.day)
                t = Token(id: id, ownerID: "o", purpose: "p", system: t.system, agentID: "a", environment: t.environment,
                          scopes: [], issuedAt: t.issuedAt, expiresAt: t.expiresAt, rotateEvery: t.rotateEvery,
                          lastRotatedAt: nil, reviewEvery: t.reviewEvery, lastReviewedAt: nil, fingerprint: nil, labels: [:],
                          createdAt: Self.issued, updatedAt: Self.issued)
                try Registry.register(db, t, audit: audit)
            }
        }
        func unused(_ days: Int64, plus: Int64 = 0) throws -> [String] {
            try gate.violations(db, asOf: Self.issued + days * Self.day + plus).filter { $0.rule == "max_unused" }.map(\.tokenID)
        }
        #expect(try unused(5) == [])
        #expect(try unused(5, plus: 1) == ["gh-prod"])
        #expect(try unused(10, plus: 1) == ["gh-dev", "gh-prod"])
        #expect(try unused(30) == ["gh-dev", "gh-prod"])
        #expect(try unused(30, plus: 1) == ["gh-dev", "gh-prod", "slack"])
    }
}
