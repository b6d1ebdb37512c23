import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import Dispatch

/// `nhi report html`: one self-contained page for auditors. No network: inline CSS and SVG, no script, font or
/// image from anywhere. Every value that comes from the store is HTML-escaped. States come from `StateQuery` and
/// controls from `Controls`; this file only gathers and draws.
public struct HTMLReport {
    public struct Finding: Sendable {
        public let tokenID: String
        public let owner: String
        public let system: String
        public let agent: String
        /// A derived state's name, or `policy-violation`.
        public let state: String
        public let reason: String
        public let since: Instant?
        package let rank: Int
    }

    public struct OwnerRow: Sendable {
        public let id: String
        public let name: String
        public let team: String?
        public let status: String
        public var active = 0
        /// Active tokens in each derived state.
        public var byState: [DerivedState: Int] = [:]
        /// Active tokens in at least one state.
        public var flagged = 0
    }

    public struct AuditState: Sendable {
        /// nil when this build cannot verify the chain.
        public var verified: Bool?
        public var entries: Int64
        public var head: String
        public var detail: String

        /// Stands in while the verification runs on its own thread; replaced before the page is rendered.
        package static let pending = AuditState(verified: nil, entries: 0, head: "", detail: "verification did not finish")
    }

    public var storePath: String
    public var asOf: Instant
    public var generatedAt: Instant
    public var audit: AuditState
    public var policyPath: String?

    public var tokensTotal = 0
    public var tokensActive = 0
    public var tokensRevoked = 0
    public var ownersTotal = 0
    public var agentsTotal = 0
    /// Active tokens in each state (a token in two states counts in both).
    public var stateCounts: [DerivedState: Int] = [:]
    public var policyViolationTokens = 0
    /// Active tokens in at least one state or breaking the policy.
    public var flaggedTokens = 0

    /// Active tokens expiring in each of the 12 weeks from as-of.
    public var expiriesPerWeek: [Int] = Array(repeating: 0, count: 12)
    /// Active tokens by age since issue, and by time since last rotation (or issue), in `ageBuckets` bands.
    public var ageSinceIssue: [Int] = Array(repeating: 0, count: HTMLReport.ageBuckets.count)
    public var ageSinceRotation: [Int] = Array(repeating: 0, count: HTMLReport.ageBuckets.count)

    /// The most urgent findings (state order, then oldest first), at most `maxRows`; `findingsTotal` counts all.
    public var findings: [Finding] = []
    public var findingsTotal = 0
    public var owners: [OwnerRow] = []
    public var ownersShownTotal = 0
    /// Active tokens that must go (orphaned or expired), as in `nhi report offboarding`.
    public var offboarding: [Finding] = []
    public var offboardingTotal = 0
    /// Each control with the subjects that evidence it and how many active tokens currently fail it.
    public var controls: [(control: Control, subjects: [String], failing: Int)] = []
    public var maxRows: Int

    public static let defaultMaxRows = 5_000
    package static let topOwners = 10
    package static let ageBuckets: [(label: String, upTo: Int64?)] = [
        ("< 30d", 30), ("30-90d", 90), ("90-180d", 180), ("180d-1y", 365), ("1-2y", 730), ("> 2y", nil),
    ]

    // MARK: gathering

    public static func build(_ db: Database, asOf: Instant, generatedAt: Instant, storePath: String,
                             policy: PolicyGate?, policyPath: String?, maxRows: Int = defaultMaxRows,
                             verifyAudit: Bool = true) throws -> HTMLReport {
        // A report reads the whole inventory: a 64 MiB page cache instead of the 2 MiB default (this connection only).
        try db.execute("PRAGMA cache_size = -65536")
        // On a file store the chain is verified on a second connection and thread while the page's data is gathered.
        let concurrentCheck = verifyAudit && db.path != ":memory:" ? ConcurrentAuditCheck(path: db.path) : nil
        var report = HTMLReport(storePath: storePath, asOf: asOf, generatedAt: generatedAt,
                                audit: concurrentCheck == nil ? try auditState(db, verify: verifyAudit) : .pending,
                                policyPath: policyPath, maxRows: maxRows)
        defer { _ = try? concurrentCheck?.wait() }
        let counts = try db.row("""
            SELECT count(*) AS total, sum(status = 'active') AS active, sum(status = 'revoked') AS revoked,
                   (SELECT count(*) FROM owners) AS owners, (SELECT count(*) FROM agents) AS agents
            FROM tokens
            """)
        report.tokensTotal = Int(try counts?.int("total") ?? 0)
        report.tokensActive = Int(try counts?.int("active") ?? 0)
        report.tokensRevoked = Int(try counts?.int("revoked") ?? 0)
        report.ownersTotal = Int(try counts?.int("owners") ?? 0)
        report.agentsTotal = Int(try counts?.int("agents") ?? 0)

        // Owners, with their active token counts; state counts are added from the state pass below.
        var ownerIndex: [String: Int] = [:]
        try db.forEachRow("SELECT id, name, team, status FROM owners ORDER BY id") { row in
            ownerIndex[try row.string("id")] = report.owners.count
            report.owners.append(OwnerRow(id: try row.string("id"), name: try row.string("name"), team: try row.text("team"),
                                          status: try row.string("status")))
        }
        // One grouped scan (a per-owner subquery let the planner pick a status index and scan every token per owner).
        try db.forEachRow("SELECT owner_id, count(*) AS active FROM tokens WHERE status = 'active' GROUP BY owner_id") { row in
            if let o = ownerIndex[try row.string("owner_id")] { report.owners[o].active = Int(try row.int("active") ?? 0) }
        }

        // Expiry weeks and age bands over active tokens.
        let week: Int64 = 7 * 86_400
        try db.forEachRow("""
            SELECT issued_at, COALESCE(last_rotated_at, issued_at) AS rotated_at, expires_at
            FROM tokens WHERE status = 'active'
            """) { row in
            if let expires = try row.int("expires_at"), expires >= asOf, expires < asOf + 12 * week {
                report.expiriesPerWeek[Int((expires - asOf) / week)] += 1
            }
            report.ageSinceIssue[ageBand(asOf - (try row.int("issued_at") ?? asOf))] += 1
            report.ageSinceRotation[ageBand(asOf - (try row.int("rotated_at") ?? asOf))] += 1
        }

        // One pass over the tokens in any state. At 100k tokens this loop is the page's cost: no per-token hashing
        // beyond the owner lookup, controls counted through a cache keyed by the token's set of states.
        let maxUnused = policy?.maxUnused ?? StateQuery(asOf: asOf).maxUnused
        let query = StateQuery(asOf: asOf, maxUnused: maxUnused)
        let allControls = Controls.all
        let controlNumber = Dictionary(uniqueKeysWithValues: allControls.enumerated().map { ($1, $0) })
        var controlFailing = Array(repeating: 0, count: allControls.count)
        var controlsByStateSet: [Int: [Int]] = [:]
        func stateSet(_ states: [DerivedState]) -> Int { states.reduce(0) { $0 | (1 << $1.severityRank) } }
        func controlNumbers(_ states: [DerivedState]) -> [Int] {
            let key = stateSet(states)
            if let cached = controlsByStateSet[key] { return cached }
            let numbers = Set(states.flatMap { Controls.controls(for: $0) }.compactMap { controlNumber[$0] }).sorted()
            controlsByStateSet[key] = numbers
            return numbers
        }
        var flagged: [TokenStates] = []
        var allFindings: [(rank: Int, since: Int64, index: Int)] = []
        try query.forEach(db) { item in
            let index = flagged.count
            flagged.append(item)
            let owner = ownerIndex[item.token.ownerID]
            for state in item.states {
                report.stateCounts[state, default: 0] += 1
                allFindings.append((state.severityRank, item.since(state, maxUnused: maxUnused) ?? Int64.min, index))
                if let owner { report.owners[owner].byState[state, default: 0] += 1 }
            }
            if let owner { report.owners[owner].flagged += 1 }
            for number in controlNumbers(item.states) { controlFailing[number] += 1 }
        }
        report.flaggedTokens = flagged.count

        // Policy violations, when a policy is given (as `check --policy` reports them).
        var violations: [PolicyViolation] = []
        if let policy {
            violations = try policy.violations(db, asOf: asOf)
            var perToken: [String: Set<Int>] = [:]
            for violation in violations {
                let numbers = Controls.controls(forFinding: Controls.policyViolation, rule: violation.rule).compactMap { controlNumber[$0] }
                perToken[violation.tokenID, default: []].formUnion(numbers)
            }
            report.policyViolationTokens = perToken.count
            var flaggedIndex: [String: Int] = [:]
            for (i, item) in flagged.enumerated() { flaggedIndex[item.token.id] = i }
            for (tokenID, numbers) in perToken {
                // A control a token already fails through a state is counted once.
                let already = flaggedIndex[tokenID].map { Set(controlNumbers(flagged[$0].states)) } ?? []
                for number in numbers.subtracting(already) { controlFailing[number] += 1 }
                if flaggedIndex[tokenID] == nil { report.flaggedTokens += 1 }
            }
        }

        // Findings: most urgent first (state order, then the longest-standing, then token id), capped with the
        // total stated. Keys are computed once; token ids only break ties.
        allFindings.sort { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            if a.since != b.since { return a.since < b.since }
            return a.index < b.index  // StateQuery returns tokens in id order
        }
        report.findingsTotal = allFindings.count + violations.count
        func finding(_ item: TokenStates, _ state: DerivedState) -> Finding {
            Finding(tokenID: item.token.id, owner: item.token.ownerID, system: item.token.system, agent: item.token.agentID,
                    state: state.rawValue, reason: item.reason(state, maxUnused: maxUnused),
                    since: item.since(state, maxUnused: maxUnused), rank: state.severityRank)
        }
        for entry in allFindings.prefix(maxRows) {
            report.findings.append(finding(flagged[entry.index], DerivedState.allCases[entry.rank]))
        }
        if report.findings.count < maxRows, !violations.isEmpty {
            var tokens: [String: Token] = [:]
            for violation in violations.prefix(maxRows - report.findings.count) {
                if tokens[violation.tokenID] == nil { tokens[violation.tokenID] = try Registry.token(db, violation.tokenID) }
                let token = tokens[violation.tokenID]
                report.findings.append(Finding(tokenID: violation.tokenID, owner: token?.ownerID ?? "", system: token?.system ?? "",
                                               agent: token?.agentID ?? "", state: Controls.policyViolation,
                                               reason: violation.message, since: nil, rank: DerivedState.allCases.count))
            }
        }

        // Offboarding: active tokens that must go (orphaned or expired), one row per token, in the order
        // `nhi report offboarding` lists them: expired before orphaned, longest in the state first, then id.
        var leaving: [(rank: Int, since: Int64?, index: Int)] = []
        for (index, item) in flagged.enumerated() {
            guard let primary = item.states.first(where: { $0 == .expired || $0 == .orphaned }) else { continue }
            leaving.append((primary.severityRank, item.since(primary, maxUnused: maxUnused), index))
        }
        leaving.sort { a, b in
            if a.rank != b.rank { return a.rank < b.rank }
            switch (a.since, b.since) {
            case let (x?, y?) where x != y: return x < y
            case (nil, _?): return true
            case (_?, nil): return false
            default: return a.index < b.index
            }
        }
        report.offboardingTotal = leaving.count
        for entry in leaving.prefix(maxRows) {
            let item = flagged[entry.index]
            let states = item.states.filter { $0 == .orphaned || $0 == .expired }
            report.offboarding.append(Finding(tokenID: item.token.id, owner: item.token.ownerID, system: item.token.system,
                                              agent: item.token.agentID, state: states.map(\.rawValue).joined(separator: ", "),
                                              reason: states.map { item.reason($0, maxUnused: maxUnused) }.joined(separator: "; "),
                                              since: item.since(states[0], maxUnused: maxUnused), rank: entry.rank))
        }

        // Owners in the order of `nhi report owners`: most tokens that must go (expired + orphaned) first, then
        // most overdue, then id.
        report.owners.sort { a, b in
            let mustGo = { (o: OwnerRow) in (o.byState[.expired] ?? 0) + (o.byState[.orphaned] ?? 0) }
            let overdue = { (o: OwnerRow) in (o.byState[.rotationOverdue] ?? 0) + (o.byState[.reviewOverdue] ?? 0) }
            if mustGo(a) != mustGo(b) { return mustGo(a) > mustGo(b) }
            if overdue(a) != overdue(b) { return overdue(a) > overdue(b) }
            return a.id < b.id
        }
        report.ownersShownTotal = report.owners.count

        report.controls = allControls.enumerated().map { ($1, Controls.subjects(evidencing: $1), controlFailing[$0]) }
        if let concurrentCheck { report.audit = try concurrentCheck.wait() }
        return report
    }

    package static func ageBand(_ seconds: Int64) -> Int {
        let days = seconds / 86_400
        for (i, bucket) in ageBuckets.enumerated() { if let upTo = bucket.upTo, days < upTo { return i } }
        return ageBuckets.count - 1
    }

    /// The audit chain's state, from `nhi audit verify`'s own verifier (or only its head, when told not to verify).
    package static func auditState(_ db: Database, verify: Bool) throws -> AuditState {
        guard verify else {
            let head = try AuditLog.head(db)
            return AuditState(verified: nil, entries: head.seq, head: head.hash,
                              detail: "not verified (--no-verify); run nhi audit verify")
        }
        let result = try AuditVerifier.verify(db, problemLimit: 1)
        let detail = result.ok
            ? "audit verify: chain ok"
            : "audit verify: \(result.problemCount) \(result.problemCount == 1 ? "problem" : "problems"); the first: \(result.problems.first.map(\.description) ?? "?")"
        return AuditState(verified: result.ok, entries: result.entries, head: result.head, detail: detail)
    }

    /// Runs `nhi audit verify`'s verifier on its own connection and thread. On two cores the report then takes about
    /// as long as the longer of the two jobs instead of their sum. Its read snapshot starts a moment after the
    /// report's own; a write committed in between would show in one and not the other, which the page's
    /// generation time already bounds.
    package final class ConcurrentAuditCheck: @unchecked Sendable {
        private let group = DispatchGroup()
        // Written by the worker before `leave()`, read only after `wait()`: the group orders the two.
        private var outcome: Result<AuditState, Error>?

        package init(path: String) {
            group.enter()
            DispatchQueue.global().async { [self] in
                outcome = Result {
                    let db = try Database(path: path, mode: .readWrite)
                    try db.executeScript("PRAGMA cache_size = -65536")
                    return try db.readTransaction { try HTMLReport.auditState(db, verify: true) }
                }
                group.leave()
            }
        }

        package func wait() throws -> AuditState {
            group.wait()
            return try outcome!.get()
        }
    }
}
