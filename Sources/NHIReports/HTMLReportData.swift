import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import Dispatch

/// `nhi report html`: one self-contained page for auditors. No network: inline CSS and SVG, no script, font or
/// image from anywhere. Every value that comes from the store is HTML-escaped. The page composes what the other
/// outputs compute: its findings and counts are `Check.run`'s, its owners `Reports.ownerSummary`'s, its
/// offboarding list `Reports.offboarding`'s and its controls `Reports.controls`'; this file only gathers them
/// (and the chart data) and NHIOutput draws them.
public struct HTMLReport {
    public struct OwnerRow: Sendable {
        /// The owner's row in `nhi report owners` (who, active and revoked tokens), in that report's order.
        public let summary: Reports.OwnerSummary
        /// Active tokens in each derived state, all seven (the owners report lists four), from check's findings.
        public var byState: [DerivedState: Int] = [:]
        /// Active tokens in at least one state.
        public var flagged = 0
        /// Active tokens by their most severe state, each token counted once: the owners chart's bars, whose
        /// total is `flagged` (the per-state counts above count a token in three states three times).
        public var byWorstState: [DerivedState: Int] = [:]
    }

    public struct AuditState: Sendable {
        /// nil when this build cannot verify the chain.
        public var verified: Bool?
        public var entries: Int64
        public var head: String
        public var detail: String

        /// As of a past instant the page names the chain as it stood then (its entries and head at `asOf`), so the
        /// page made then and the one made later `--as-of` then agree; the verification stays the whole chain's now,
        /// which covers that head. Nothing changes as of now or later.
        package mutating func restrict(_ db: Database, asOf: Instant) throws {
            guard let newest = try History.newestChange(db), newest > asOf else { return }
            let row = try db.row("SELECT seq, hash FROM audit_log WHERE at <= :t ORDER BY seq DESC LIMIT 1", ["t": .int(asOf)])
            entries = try row?.int("seq") ?? 0
            head = try row?.string("hash") ?? AuditLog.genesisHash
        }

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

    /// The first `maxRows` findings of `nhi check --format json` (with the same policy), in its order: failures
    /// first, then by state, then token id. `findingsTotal` counts all.
    public var findings: [Check.Finding] = []
    public var findingsTotal = 0
    /// Findings an exception waives (shown as waived, never hidden) and the systems whose issuance is frozen.
    public var waived: [Check.Finding] = []
    public var frozenSystems: [GovernedSystem] = []
    /// Every owner, in the order of `nhi report owners` (the page lists the first `maxRows`).
    public var owners: [OwnerRow] = []
    /// The first `maxRows` rows of `nhi report offboarding`: active tokens that must go (orphaned or expired).
    public var offboarding: [Reports.Row] = []
    public var offboardingTotal = 0
    /// `nhi report controls`: each control, the subjects that evidence it and how many tokens fail it.
    public var controls: [Reports.ControlRow] = []
    public var maxRows: Int

    public static let defaultMaxRows = 5_000
    package static let topOwners = 10
    package static let ageBuckets: [(label: String, upTo: Int64?)] = [
        ("< 30d", 30), ("30-90d", 90), ("90-180d", 180), ("180d-1y", 365), ("1-2y", 730), ("> 2y", nil),
    ]

    /// The owners chart's owners: the `topOwners` with the most active tokens in any state, most first, then id.
    package var chartOwners: [OwnerRow] {
        Array(owners.filter { $0.flagged > 0 }
            .sorted { a, b in a.flagged != b.flagged ? a.flagged > b.flagged : a.summary.ownerID < b.summary.ownerID }
            .prefix(HTMLReport.topOwners))
    }

    // MARK: gathering

    public static func build(_ db: Database, asOf: Instant, generatedAt: Instant, storePath: String,
                             policy: PolicyGate?, policyPath: String?, maxRows: Int = defaultMaxRows,
                             verifyAudit: Bool = true) throws -> HTMLReport {
        // Both connections keep a 2 MiB page cache (the store's; SQLite's default on the second): the page's reads
        // are the other reports' scans, which read in storage order; 64 MiB each only filled up (Docs/benchmarks.md,
        // "report html, 2026-12-04").
        // On a file store the chain is verified on a second connection and thread, from when check's result is
        // released (below) while the rest of the page's data is gathered.
        let concurrentCheck = verifyAudit && db.path != ":memory:" ? try ConcurrentAuditCheck(connection: db.secondConnection()) : nil
        var report = HTMLReport(storePath: storePath, asOf: asOf, generatedAt: generatedAt,
                                audit: concurrentCheck == nil ? try auditState(db, verify: verifyAudit) : .pending,
                                policyPath: policyPath, maxRows: maxRows)
        defer { _ = try? concurrentCheck?.wait() }

        // The findings, the state counts and the controls: `nhi check --policy P`'s result. Its arena is most of the
        // page's memory at a million tokens, so it comes first and is released at the end of this scope, before the
        // verification and the other reports allocate theirs; the owners' counts are kept by owner id meanwhile.
        var ownerCounts = OwnerCounts()
        do {
            let check = try Check.run(db, asOf: asOf, policy: policy)
            report.tokensTotal = Int(check.totalTokens)
            report.tokensActive = Int(check.activeCount)
            for (state, count) in zip(DerivedState.allCases, check.stateCounts) { report.stateCounts[state] = count }
            report.findingsTotal = check.failureCount + check.warningCount
            report.findings.reserveCapacity(min(maxRows, report.findingsTotal))
            check.forEachFinding(.failure, limit: maxRows) { report.findings.append($0) }
            check.forEachFinding(.warning, limit: maxRows - report.findings.count) { report.findings.append($0) }
            report.controls = Reports.controls(check)
            check.forEachFinding(.waived, limit: maxRows) { report.waived.append($0) }
            report.frozenSystems = check.frozenSystems
            check.forEachTokenWithFindings { token in
                report.flaggedTokens += 1
                if !token.violations.isEmpty { report.policyViolationTokens += 1 }
                guard let handle = token.handle else { return }
                ownerCounts.add(owner: check.states[handle].token.ownerID, stateMask: token.stateMask)
            }
        }
        // What check freed goes back to the system, so the verification's thread (its own malloc arena) and the
        // reports below do not add to it.
        FreedMemory.release()
        concurrentCheck?.proceed()

        let counts = try db.row("SELECT (SELECT count(*) FROM owners) AS owners, (SELECT count(*) FROM agents) AS agents")
        report.ownersTotal = Int(try counts?.int("owners") ?? 0)
        report.agentsTotal = Int(try counts?.int("agents") ?? 0)

        // Expiry weeks and age bands over active tokens.
        let week: Int64 = 7 * 86_400
        try db.forEachRow("""
            SELECT id, issued_at, last_rotated_at, COALESCE(last_rotated_at, issued_at) AS rotated_at, expires_at
            FROM tokens WHERE status = 'active'
            """) { row in
            // Refused by name before any arithmetic, as the state scan does (a hand-edited Int64.min would trap).
            for column in [TokenColumn.issuedAt, .lastRotatedAt, .expiresAt] {
                if let value = try row.int(column.name), !Time.storable.contains(value) {
                    throw StateFacts.outOfRangeError(token: try row.string("id"), (column, value))
                }
            }
            if let expires = try row.int("expires_at"), expires >= asOf, expires < asOf + 12 * week {
                report.expiriesPerWeek[Int((expires - asOf) / week)] += 1
            }
            report.ageSinceIssue[ageBand(asOf - (try row.int("issued_at") ?? asOf))] += 1
            report.ageSinceRotation[ageBand(asOf - (try row.int("rotated_at") ?? asOf))] += 1
        }

        // The owners report's rows, with every state counted from check's findings (the columns and the chart).
        let summaries = try Reports.ownerSummary(db: db, asOf: asOf)
        report.tokensRevoked = Int(Reports.totals(summaries).revoked)
        report.owners = summaries.map { ownerCounts.row($0) }

        let offboarding = try Reports.offboarding(db, asOf: asOf)
        report.offboardingTotal = offboarding.count
        report.offboarding = Array(offboarding.prefix(maxRows))

        if let concurrentCheck { report.audit = try concurrentCheck.wait() }
        try report.audit.restrict(db, asOf: asOf)
        return report
    }

    /// Each owner's active tokens with findings, by state and by most severe state, in one flat array while check's
    /// result is held (a dictionary per owner was 7.5 MB at 25,000 owners); made into `OwnerRow`s after.
    private struct OwnerCounts {
        private static let states = DerivedState.allCases
        /// Per owner: tokens with findings, then one count per state, then one per most severe state.
        private static let stride = 1 + 2 * states.count
        private var slots: [String: Int] = [:]
        private var counts: [Int32] = []

        mutating func add(owner: String, stateMask: StateMask) {
            let base: Int
            if let slot = slots[owner] {
                base = slot
            } else {
                base = counts.count
                slots[owner] = base
                counts += repeatElement(0, count: Self.stride)
            }
            counts[base] += 1
            for i in Self.states.indices where stateMask & (1 << i) != 0 { counts[base + 1 + i] += 1 }
            // Bit i is the state of severityRank i (DerivedState.allCases is in severity order): the lowest set bit is
            // the token's most severe state.
            if stateMask != 0 { counts[base + 1 + Self.states.count + stateMask.trailingZeroBitCount] += 1 }
        }

        func row(_ summary: Reports.OwnerSummary) -> OwnerRow {
            var row = OwnerRow(summary: summary)
            guard let base = slots[summary.ownerID] else { return row }
            row.flagged = Int(counts[base])
            for (i, state) in Self.states.enumerated() {
                if counts[base + 1 + i] > 0 { row.byState[state] = Int(counts[base + 1 + i]) }
                let worst = counts[base + 1 + Self.states.count + i]
                if worst > 0 { row.byWorstState[state] = Int(worst) }
            }
            return row
        }
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
    /// as long as check and the longer of the verification and the other reports, instead of the sum of all three
    /// (at a million tokens check is 1.6 s of about 25). The worker's read snapshot is open when `init`
    /// returns (a moment after the report's own; a write committed in between would show in one and not the other,
    /// which the page's generation time already bounds); it verifies once `proceed()` is called, so that its memory
    /// does not come on top of check's.
    package final class ConcurrentAuditCheck: @unchecked Sendable {
        private let group = DispatchGroup()
        private let opened = DispatchSemaphore(value: 0)
        private let start = DispatchSemaphore(value: 0)
        /// Read and written only by the caller's thread.
        private var started = false
        // Written by the worker before `leave()`, read only after `wait()`: the group orders the two.
        private var outcome: Result<AuditState, Error>?
        /// Used only by the worker once `init` has handed it over.
        private let db: Database

        /// `connection` sees the store as stored, never this connection's as-of views.
        package init(connection: Database) {
            db = connection
            group.enter()
            DispatchQueue.global().async { [self] in
                var snapshot = false
                outcome = Result {
                    try db.readTransaction {
                        // The first read fixes the transaction's snapshot (SQLite's WAL, PostgreSQL's repeatable read).
                        _ = try AuditLog.head(db)
                        snapshot = true
                        opened.signal()
                        start.wait()
                        return try HTMLReport.auditState(db, verify: true)
                    }
                }
                if !snapshot { opened.signal() }
                group.leave()
            }
            opened.wait()
        }

        /// Lets the verification run.
        package func proceed() {
            guard !started else { return }
            started = true
            start.signal()
        }

        package func wait() throws -> AuditState {
            proceed()
            group.wait()
            return try outcome!.get()
        }
    }
}
