import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit

/// The CI gate's evaluation: every active token's derived states (and policy violations) as findings, each
/// failing or a warning depending on `--fail-on`. Renderers (text, json, junit, sarif) only format the result.
public enum Check {
    /// `policy-violation` is a finding kind besides the derived states.
    public static let policyViolation = "policy-violation"

    /// Every finding kind, in urgency order (the SARIF rules, the text summary).
    public static var kinds: [String] { DerivedState.allCases.map(\.rawValue) + [policyViolation] }

    /// `waived`: an exception holds for the token's state (SPEC "Governance"): shown, never failing, never hidden.
    public enum Severity: String, Sendable { case failure, warning, waived }

    /// One finding, made when it is written: a large inventory has hundreds of thousands, and `Result` keeps only
    /// the compact token states they are formatted from.
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
        /// The exception that waives it (severity `waived`).
        public let waiver: StateException?

        package init(tokenID: String, ownerID: String, agentID: String, system: String, kind: String, severity: Severity,
             reason: String, since: Instant?, rule: String?, waiver: StateException? = nil) {
            self.tokenID = tokenID; self.ownerID = ownerID; self.agentID = agentID; self.system = system
            self.kind = kind; self.severity = severity; self.reason = reason; self.since = since; self.rule = rule
            self.waiver = waiver
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
        /// Every token in a derived state, in id order.
        package let states: TokenStatesArena
        /// Per derived state (`DerivedState.allCases` order): the tokens in it, in id order.
        package let buckets: [[TokenStatesArena.Handle]]
        /// Policy violations, by token id then rule.
        package let violations: [Finding]
        package let failing: Set<String>
        /// How many tokens have a failing finding.
        package let failedTokens: Int
        /// Tokens with a policy violation that are not active (sorted): JUnit gives them test cases too.
        package let inactiveViolationTokens: [String]
        /// The waived findings: (state index, handle, exception), by state then token id.
        package let waived: [Waived]
        /// The same, by handle and state index, for skipping them among the failures and warnings.
        package let waiverOf: [WaivedKey: StateException]
        /// Per state: how many of its bucket's tokens are waived.
        package let waivedPerState: [Int]
        /// Every frozen system (check text and the HTML report list them), by id.
        public let frozenSystems: [GovernedSystem]

        package struct Waived: Sendable {
            package let state: Int
            package let handle: TokenStatesArena.Handle
            package let exception: StateException
        }

        package struct WaivedKey: Hashable, Sendable {
            package let handle: TokenStatesArena.Handle
            package let state: Int
        }

        /// How many findings fail the check, and how many are warnings.
        public let failureCount: Int
        public let warningCount: Int
        public var waivedCount: Int { waived.count }

        package init(asOf: Instant, failOn: [String], maxUnused: Int64, totalTokens: Int64, activeCount: Int64,
             states: TokenStatesArena, buckets: [[TokenStatesArena.Handle]], violations: [Finding],
             failedTokens: Int, inactiveViolationTokens: [String], waived: [Waived] = [], frozenSystems: [GovernedSystem] = []) {
            self.failedTokens = failedTokens; self.inactiveViolationTokens = inactiveViolationTokens
            self.waived = waived
            self.frozenSystems = frozenSystems
            var waiverOf: [WaivedKey: StateException] = [:]
            var perState = [Int](repeating: 0, count: buckets.count)
            for w in waived {
                waiverOf[WaivedKey(handle: w.handle, state: w.state)] = w.exception
                perState[w.state] += 1
            }
            self.waiverOf = waiverOf
            self.waivedPerState = perState
            self.asOf = asOf; self.failOn = failOn; self.maxUnused = maxUnused; self.totalTokens = totalTokens
            self.activeCount = activeCount; self.states = states; self.buckets = buckets; self.violations = violations
            let failing = Set(failOn)
            self.failing = failing
            var failures = 0, warnings = 0
            for (i, (state, bucket)) in zip(DerivedState.allCases, buckets).enumerated() {
                let count = bucket.count - perState[i]
                if failing.contains(state.rawValue) { failures += count } else { warnings += count }
            }
            if failing.contains(Check.policyViolation) { failures += violations.count } else { warnings += violations.count }
            failureCount = failures
            warningCount = warnings
        }

        /// Each ordered by kind (urgency order), then token id. Built on each call: writers stream them with
        /// `forEachFinding` instead.
        public var failures: [Finding] { collect(.failure) }
        public var warnings: [Finding] { collect(.warning) }

        public var waivedFindings: [Finding] { collect(.waived) }

        /// Failures first, then warnings, then the waived ones.
        public var findings: [Finding] { failures + warnings + waivedFindings }
        public var passed: Bool { failureCount == 0 }

        package func severity(of kind: String) -> Severity { failing.contains(kind) ? .failure : .warning }

        /// The findings of one severity in output order (kind in urgency order, then token id), each made as it
        /// is passed on.
        /// `limit`: stop after this many.
        public func forEachFinding(_ severity: Severity, limit: Int = .max, _ body: (Finding) throws -> Void) rethrows {
            var left = limit
            if severity == .waived {
                for w in waived {
                    guard left > 0 else { return }
                    left -= 1
                    try body(finding(states[w.handle], DerivedState.allCases[w.state], waiver: w.exception))
                }
                return
            }
            for (i, (state, bucket)) in zip(DerivedState.allCases, buckets).enumerated() where self.severity(of: state.rawValue) == severity {
                let anyWaived = waivedPerState[i] > 0
                for handle in bucket {
                    if anyWaived && waiverOf[WaivedKey(handle: handle, state: i)] != nil { continue }
                    guard left > 0 else { return }
                    left -= 1
                    try body(finding(states[handle], state))
                }
            }
            if self.severity(of: Check.policyViolation) == severity {
                for v in violations {
                    guard left > 0 else { return }
                    left -= 1
                    try body(v)
                }
            }
        }

        /// Failures, then warnings, then the waived findings.
        public func forEachFinding(_ body: (Finding) throws -> Void) rethrows {
            try forEachFinding(.failure, body)
            try forEachFinding(.warning, body)
            try forEachFinding(.waived, body)
        }

        package func finding(_ ts: TokenStates, _ state: DerivedState, waiver: StateException? = nil) -> Finding {
            let t = ts.token
            return Finding(tokenID: t.id, ownerID: t.ownerID, agentID: t.agentID, system: t.system, kind: state.rawValue,
                           severity: waiver == nil ? severity(of: state.rawValue) : .waived, reason: ts.reason(state, maxUnused: maxUnused),
                           since: ts.since(state, maxUnused: maxUnused), rule: nil, waiver: waiver)
        }

        /// The exception that waives `state` for the token at `handle`, if one does.
        package func waiver(_ handle: TokenStatesArena.Handle, _ state: Int) -> StateException? {
            waived.isEmpty ? nil : waiverOf[WaivedKey(handle: handle, state: state)]
        }

        private func collect(_ severity: Severity) -> [Finding] {
            var result: [Finding] = []
            forEachFinding(severity) { result.append($0) }
            return result
        }

        /// How many findings of each kind, in `Check.kinds` order, leaving out kinds with none.
        public func counts(_ severity: Severity) -> [(kind: String, count: Int)] {
            var result: [(kind: String, count: Int)] = []
            if severity == .waived {
                for (i, state) in DerivedState.allCases.enumerated() where waivedPerState[i] > 0 {
                    result.append((state.rawValue, waivedPerState[i]))
                }
                return result
            }
            for (i, (state, bucket)) in zip(DerivedState.allCases, buckets).enumerated()
            where bucket.count > waivedPerState[i] && self.severity(of: state.rawValue) == severity {
                result.append((state.rawValue, bucket.count - waivedPerState[i]))
            }
            if !violations.isEmpty && self.severity(of: Check.policyViolation) == severity {
                result.append((Check.policyViolation, violations.count))
            }
            return result
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

    /// Every active token's states are kept in a compact arena and each finding is made only when written
    /// (`Result.forEachFinding`); JUnit's one test case per active token streams the tokens itself
    /// (`forEachActiveToken`, which the junit writer is given), so nothing here lists them.
    public static func run(_ db: Database, asOf: Instant, failOn: [String], maxUnused: Int64,
                           policy: PolicyGate?) throws -> Result {
        let total = try Registry.tokenCount(db)
        // Read in storage order, then put in id order by the ids' bytes (when they are not already: a store whose
        // ids were registered in order needs one comparison per token). Walking the id index instead seeks the
        // table once per token, in random order when ids were not registered in order: on a 1M-token store with
        // shuffled ids that was 9.9 s wall (4.5 s user, 2.0 s reading pages).
        var arena = TokenStatesArena()
        let allStates = DerivedState.allCases
        var buckets = [[TokenStatesArena.Handle]](repeating: [], count: allStates.count)
        // Room for every token in each list up front: an array grown by appending is briefly its old and its new
        // buffer (8 MB above the lists' size at a million tokens), while room never written to is not resident
        // (the system backs a large allocation's pages as they are first written).
        arena.reserveCapacity(Int(total))
        for i in buckets.indices { buckets[i].reserveCapacity(Int(total)) }
        let failingState = allStates.map { failOn.contains($0.rawValue) }
        let policyFailing = failOn.contains(policyViolation)
        // Tokens with a failing finding (JUnit's failed test cases); their ids only when policy violations, which
        // may fail too, have to be told apart from them.
        var failedTokens = 0
        var failedIDs: Set<String> = []
        // Exceptions that hold at as-of, by token (few: probed from each row's id bytes only when there are any).
        let waivers = try Waivers(db, asOf: asOf)
        var waived: [Result.Waived] = []
        var query = StateQuery(asOf: asOf, maxUnused: maxUnused)
        query.fullTokens = false
        query.inIDOrder = false
        // The scan's rows go into the arena straight from their columns: no token is built.
        precondition(query.readsEveryActiveToken)
        // The scan reads every active token, so it counts them too (a count(*) by status was 4% of check).
        let activeCount = Int64(try query.scan(db) { item in
            let handle = arena.append(item)
            var failed = false
            var waivedMask: StateMask = 0
            if !waivers.isEmpty {
                for (state, e) in Waivers.waivedStates(waivers.exceptions(item.row, item.columns[.id]), found: item.found) {
                    waivedMask |= 1 << state.severityRank
                    waived.append(Result.Waived(state: state.severityRank, handle: handle, exception: e))
                }
            }
            for i in allStates.indices where item.found & (1 << i) != 0 {
                buckets[i].append(handle)
                failed = failed || (failingState[i] && waivedMask & (1 << i) == 0)
            }
            if failed {
                failedTokens += 1
                if policy != nil && policyFailing { failedIDs.insert(item.row.string(item.columns[.id])) }
            }
        })
        arena.sortByTokenID()
        for i in buckets.indices { arena.sortByTokenID(&buckets[i]) }
        waived.sort { $0.state != $1.state ? $0.state < $1.state : arena.tokenID($0.handle, precedes: $1.handle) }
        let frozen = try Registry.systems(db).filter(\.frozen)
        var violations: [Finding] = []
        var inactive: [String] = []
        if let policy {
            let failing = policyFailing
            var byID: [String: TokenRef] = [:]
            try forEachActiveToken(db) { ref in if byID[ref.id] == nil { byID[ref.id] = ref } }
            violations = try policy.violations(db, asOf: asOf).sorted { ($0.tokenID, $0.rule) < ($1.tokenID, $1.rule) }.map { v in
                let ref = byID[v.tokenID]
                return Finding(tokenID: v.tokenID, ownerID: ref?.ownerID ?? "", agentID: ref?.agentID ?? "",
                               system: ref?.system ?? "", kind: policyViolation, severity: failing ? .failure : .warning,
                               reason: v.message, since: nil, rule: v.rule)
            }
            var seen: Set<String> = []
            for v in violations where seen.insert(v.tokenID).inserted {
                if byID[v.tokenID] == nil { inactive.append(v.tokenID) }
                if failing && !failedIDs.contains(v.tokenID) { failedTokens += 1 }
            }
            inactive.sort()
        }
        return Result(asOf: asOf, failOn: failOn, maxUnused: maxUnused, totalTokens: total, activeCount: activeCount,
                      states: arena, buckets: buckets, violations: violations, failedTokens: failedTokens,
                      inactiveViolationTokens: inactive, waived: waived, frozenSystems: frozen)
    }

    /// Every active token, in id order (the order `StateQuery` streams them in), read by column position.
    package static func forEachActiveToken(_ db: Database, _ body: (TokenRef) throws -> Void) throws {
        try db.forEachCursor("SELECT id, owner_id, agent_id, system FROM tokens WHERE status = 'active' ORDER BY id") { row in
            try body(TokenRef(id: row.string(0), ownerID: row.string(1), agentID: row.string(2), system: row.string(3)))
        }
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
