/// The CI gate's evaluation: every active token's derived states (and policy violations) as findings, each
/// failing or a warning depending on `--fail-on`. Renderers (text, json, junit, sarif) only format the result.
public enum Check {
    /// `policy-violation` is a finding kind besides the derived states.
    public static let policyViolation = "policy-violation"

    /// Every finding kind, in urgency order (the SARIF rules, the text summary).
    public static var kinds: [String] { DerivedState.allCases.map(\.rawValue) + [policyViolation] }

    public enum Severity: String, Sendable { case failure, warning }

    public struct Finding: Sendable, Equatable {
        public let tokenID: String
        public let ownerID: String
        public let agentID: String
        public let system: String
        /// A derived state's name, or `policy-violation`.
        public let kind: String
        public let severity: Severity
        public let reason: String
        public let since: Instant?
        /// For policy violations: the rule's key (`max_ttl`).
        public let rule: String?
    }

    /// An active token the gate looked at (JUnit writes one test case per token).
    public struct TokenRef: Sendable, Equatable {
        public let id: String
        public let ownerID: String
        public let agentID: String
        public let system: String
    }

    public struct Result: Sendable {
        public let asOf: Instant
        public let failOn: [String]
        public let maxUnused: Int64
        public let totalTokens: Int64
        public let activeTokens: [TokenRef]
        /// Failures first, then by kind (urgency order), then token id.
        public let findings: [Finding]

        public var failures: [Finding] { findings.filter { $0.severity == .failure } }
        public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
        public var passed: Bool { !findings.contains { $0.severity == .failure } }

        /// How many findings of each kind, in `Check.kinds` order, leaving out kinds with none.
        public func counts(_ severity: Severity) -> [(kind: String, count: Int)] {
            var byKind: [String: Int] = [:]
            for f in findings where f.severity == severity { byKind[f.kind, default: 0] += 1 }
            return Check.kinds.compactMap { kind in byKind[kind].map { (kind, $0) } }
        }
    }

    /// Parses `--fail-on` (or the policy's `fail_on`): derived state names and `policy-violation`.
    public static func parseFailOn(_ text: String) throws(NHIError) -> [String] {
        do {
            return try DerivedState.parseList(text, allowing: [policyViolation])
        } catch {
            throw .data("--fail-on: \(error.message)")
        }
    }

    public static func run(_ db: Database, asOf: Instant, failOn: [String], maxUnused: Int64,
                           policy: PolicyGate?) throws -> Result {
        let total = try Registry.tokenCount(db)
        var tokens: [TokenRef] = []
        try db.forEachRow("SELECT id, owner_id, agent_id, system FROM tokens WHERE status = 'active' ORDER BY id") { row in
            tokens.append(TokenRef(id: row.string("id"), ownerID: row.string("owner_id"), agentID: row.string("agent_id"),
                                   system: row.string("system")))
        }
        let failing = Set(failOn)
        var findings: [Finding] = []
        let query = StateQuery(asOf: asOf, maxUnused: maxUnused)
        try query.forEach(db) { ts in
            let t = ts.token
            for state in ts.states {
                findings.append(Finding(tokenID: t.id, ownerID: t.ownerID, agentID: t.agentID, system: t.system,
                                        kind: state.rawValue, severity: failing.contains(state.rawValue) ? .failure : .warning,
                                        reason: ts.reason(state, maxUnused: maxUnused), since: ts.since(state, maxUnused: maxUnused),
                                        rule: nil))
            }
        }
        if let policy {
            let byID = Dictionary(tokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            for v in try policy.violations(db, asOf: asOf) {
                let ref = byID[v.tokenID]
                findings.append(Finding(tokenID: v.tokenID, ownerID: ref?.ownerID ?? "", agentID: ref?.agentID ?? "",
                                        system: ref?.system ?? "", kind: policyViolation,
                                        severity: failing.contains(policyViolation) ? .failure : .warning,
                                        reason: v.message, since: nil, rule: v.rule))
            }
        }
        let rank = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        findings.sort { a, b in
            if a.severity != b.severity { return a.severity == .failure }
            if a.kind != b.kind { return rank[a.kind]! < rank[b.kind]! }
            return a.tokenID < b.tokenID
        }
        return Result(asOf: asOf, failOn: failOn, maxUnused: maxUnused, totalTokens: total, activeTokens: tokens,
                      findings: findings)
    }

    /// What a finding kind means and how to fix it (SARIF rule help, the text output's hints).
    public static func summary(_ kind: String) -> String {
        DerivedState(rawValue: kind)?.summary ?? "The token breaks a rule of the policy file."
    }

    public static func remedy(_ kind: String) -> String {
        DerivedState(rawValue: kind)?.remedy
            ?? "Bring the token within the policy (nhi token update ID ..., or rotate or revoke it), or change the policy file in review."
    }
}
