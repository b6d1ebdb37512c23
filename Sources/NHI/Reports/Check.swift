/// The CI gate's evaluation: every active token's derived states (and policy violations) as findings, each
/// failing or a warning depending on `--fail-on`. Renderers (text, json, junit, sarif) only format the result.
public enum Check {
    /// `policy-violation` is a finding kind besides the derived states.
    public static let policyViolation = "policy-violation"

    /// Every finding kind, in urgency order (the SARIF rules, the text summary).
    public static var kinds: [String] { DerivedState.allCases.map(\.rawValue) + [policyViolation] }

    public enum Severity: String, Sendable { case failure, warning }

    /// A class: a large inventory has hundreds of thousands of findings, and copying seven strings per move
    /// dominated `check`'s time when this was a struct.
    public final class Finding: Sendable {
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

        init(tokenID: String, ownerID: String, agentID: String, system: String, kind: String, severity: Severity,
             reason: String, since: Instant?, rule: String?) {
            self.tokenID = tokenID; self.ownerID = ownerID; self.agentID = agentID; self.system = system
            self.kind = kind; self.severity = severity; self.reason = reason; self.since = since; self.rule = rule
        }
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
        public let activeCount: Int64
        /// Every active token, in id order; empty unless `run` was asked to list them (JUnit needs them).
        public let activeTokens: [TokenRef]
        /// Each ordered by kind (urgency order), then token id.
        public let failures: [Finding]
        public let warnings: [Finding]

        /// Failures first, then warnings.
        public var findings: [Finding] { failures + warnings }
        public var passed: Bool { failures.isEmpty }

        /// How many findings of each kind, in `Check.kinds` order, leaving out kinds with none.
        public func counts(_ severity: Severity) -> [(kind: String, count: Int)] {
            var byKind: [String: Int] = [:]
            for f in severity == .failure ? failures : warnings { byKind[f.kind, default: 0] += 1 }
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

    /// `listActiveTokens`: also collect every active token (for JUnit's one test case per token); text, JSON and
    /// SARIF need only the count, and at a million tokens the list costs a scan and tens of megabytes.
    public static func run(_ db: Database, asOf: Instant, failOn: [String], maxUnused: Int64,
                           policy: PolicyGate?, listActiveTokens: Bool = true) throws -> Result {
        let total = try Registry.tokenCount(db)
        let activeCount = try db.scalar("SELECT count(*) FROM tokens WHERE status = 'active'").int ?? 0
        var tokens: [TokenRef] = []
        if listActiveTokens || policy != nil {
            try db.forEachRow("SELECT id, owner_id, agent_id, system FROM tokens WHERE status = 'active' ORDER BY id") { row in
                tokens.append(TokenRef(id: row.string("id"), ownerID: row.string("owner_id"), agentID: row.string("agent_id"),
                                       system: row.string("system")))
            }
        }
        let failing = Set(failOn)
        // One bucket per kind: StateQuery streams tokens in id order, so each bucket is already in order and the
        // findings need no sort.
        var buckets: [String: [Finding]] = [:]
        var query = StateQuery(asOf: asOf, maxUnused: maxUnused)
        query.fullTokens = false
        try query.forEach(db) { ts in
            let t = ts.token
            for state in ts.states {
                buckets[state.rawValue, default: []].append(
                    Finding(tokenID: t.id, ownerID: t.ownerID, agentID: t.agentID, system: t.system, kind: state.rawValue,
                            severity: failing.contains(state.rawValue) ? .failure : .warning,
                            reason: ts.reason(state, maxUnused: maxUnused), since: ts.since(state, maxUnused: maxUnused),
                            rule: nil))
            }
        }
        if let policy {
            let byID = Dictionary(tokens.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
            let violations = try policy.violations(db, asOf: asOf).sorted { ($0.tokenID, $0.rule) < ($1.tokenID, $1.rule) }
            buckets[policyViolation] = violations.map { v in
                let ref = byID[v.tokenID]
                return Finding(tokenID: v.tokenID, ownerID: ref?.ownerID ?? "", agentID: ref?.agentID ?? "",
                               system: ref?.system ?? "", kind: policyViolation,
                               severity: failing.contains(policyViolation) ? .failure : .warning,
                               reason: v.message, since: nil, rule: v.rule)
            }
        }
        var failures: [Finding] = [], warnings: [Finding] = []
        for kind in kinds {
            guard let bucket = buckets[kind] else { continue }
            if failing.contains(kind) { failures += bucket } else { warnings += bucket }
        }
        return Result(asOf: asOf, failOn: failOn, maxUnused: maxUnused, totalTokens: total, activeCount: activeCount,
                      activeTokens: listActiveTokens ? tokens : [],
                      failures: failures, warnings: warnings)
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
