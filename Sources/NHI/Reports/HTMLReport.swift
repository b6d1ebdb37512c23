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
        let rank: Int
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
        static let pending = AuditState(verified: nil, entries: 0, head: "", detail: "verification did not finish")
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
    static let topOwners = 10
    static let ageBuckets: [(label: String, upTo: Int64?)] = [
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
        report.tokensTotal = Int(counts?.int("total") ?? 0)
        report.tokensActive = Int(counts?.int("active") ?? 0)
        report.tokensRevoked = Int(counts?.int("revoked") ?? 0)
        report.ownersTotal = Int(counts?.int("owners") ?? 0)
        report.agentsTotal = Int(counts?.int("agents") ?? 0)

        // Owners, with their active token counts; state counts are added from the state pass below.
        var ownerIndex: [String: Int] = [:]
        try db.forEachRow("SELECT id, name, team, status FROM owners ORDER BY id") { row in
            ownerIndex[row.string("id")] = report.owners.count
            report.owners.append(OwnerRow(id: row.string("id"), name: row.string("name"), team: row.text("team"),
                                          status: row.string("status")))
        }
        // One grouped scan (a per-owner subquery let the planner pick a status index and scan every token per owner).
        try db.forEachRow("SELECT owner_id, count(*) AS active FROM tokens WHERE status = 'active' GROUP BY owner_id") { row in
            if let o = ownerIndex[row.string("owner_id")] { report.owners[o].active = Int(row.int("active") ?? 0) }
        }

        // Expiry weeks and age bands over active tokens.
        let week: Int64 = 7 * 86_400
        try db.forEachRow("""
            SELECT issued_at, COALESCE(last_rotated_at, issued_at) AS rotated_at, expires_at
            FROM tokens WHERE status = 'active'
            """) { row in
            if let expires = row.int("expires_at"), expires >= asOf, expires < asOf + 12 * week {
                report.expiriesPerWeek[Int((expires - asOf) / week)] += 1
            }
            report.ageSinceIssue[ageBand(asOf - (row.int("issued_at") ?? asOf))] += 1
            report.ageSinceRotation[ageBand(asOf - (row.int("rotated_at") ?? asOf))] += 1
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

    static func ageBand(_ seconds: Int64) -> Int {
        let days = seconds / 86_400
        for (i, bucket) in ageBuckets.enumerated() { if let upTo = bucket.upTo, days < upTo { return i } }
        return ageBuckets.count - 1
    }

    /// The audit chain's state, from `nhi audit verify`'s own verifier (or only its head, when told not to verify).
    static func auditState(_ db: Database, verify: Bool) throws -> AuditState {
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
    final class ConcurrentAuditCheck: @unchecked Sendable {
        private let group = DispatchGroup()
        // Written by the worker before `leave()`, read only after `wait()`: the group orders the two.
        private var outcome: Result<AuditState, Error>?

        init(path: String) {
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

        func wait() throws -> AuditState {
            group.wait()
            return try outcome!.get()
        }
    }

    // MARK: rendering

    public func render() -> String {
        var h = HTMLBuilder()
        h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        // No network: a CSP that forbids loading anything, and no script at all.
        h.raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
        h.raw("<title>nhi report as of \(HTML.escape(Time.iso(asOf)))</title>\n<style>\(HTMLReport.css)</style>\n</head>\n<body>\n")
        header(&h)
        headline(&h)
        charts(&h)
        findingsTable(&h)
        ownersTable(&h)
        offboardingTable(&h)
        controlsTable(&h)
        h.raw("<footer>Generated by nhi \(HTML.escape(Version.string)) at \(HTML.escape(Time.iso(generatedAt))). ")
        h.raw("States are evaluated as of \(HTML.escape(Time.iso(asOf))); the same store and as-of give the same page.</footer>\n")
        h.raw("</body>\n</html>\n")
        return h.text
    }

    func header(_ h: inout HTMLBuilder) {
        h.raw("<header>\n<h1>Non-human identity inventory report</h1>\n<dl class=\"meta\">\n")
        h.raw("<dt>Store</dt><dd id=\"store\">\(HTML.escape(storePath))</dd>\n")
        h.raw("<dt>As of</dt><dd id=\"as-of\">\(HTML.escape(Time.iso(asOf)))</dd>\n")
        h.raw("<dt>Generated</dt><dd id=\"generated\">\(HTML.escape(Time.iso(generatedAt)))</dd>\n")
        if let policyPath { h.raw("<dt>Policy</dt><dd id=\"policy\">\(HTML.escape(policyPath))</dd>\n") }
        let status: String
        let cls: String
        switch audit.verified {
        case .some(true): status = "verified"; cls = "ok"
        case .some(false): status = "FAILED"; cls = "bad"
        case .none: status = "not verified"; cls = "warn"
        }
        h.raw("<dt>Audit chain</dt><dd id=\"audit\"><span class=\"badge \(cls)\">\(status)</span> ")
        h.raw("\(HTML.escape(audit.detail)); \(audit.entries) \(audit.entries == 1 ? "entry" : "entries"); head <code id=\"audit-head\">\(HTML.escape(audit.head))</code></dd>\n")
        h.raw("</dl>\n</header>\n")
    }

    func headline(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"headline\">\n<h2>Summary</h2>\n<div class=\"cards\">\n")
        func card(_ label: String, _ value: Int, _ cls: String = "", id: String) {
            h.raw("<div class=\"card \(cls)\" id=\"count-\(id)\"><div class=\"n\">\(Progress.grouped(value))</div><div class=\"l\">\(HTML.escape(label))</div></div>\n")
        }
        card("active tokens", tokensActive, id: "active")
        card("revoked tokens", tokensRevoked, id: "revoked")
        card("owners", ownersTotal, id: "owners")
        card("agents", agentsTotal, id: "agents")
        card("tokens with findings", flaggedTokens, flaggedTokens > 0 ? "bad" : "ok", id: "flagged")
        h.raw("</div>\n<div class=\"cards\">\n")
        for state in DerivedState.allCases {
            let n = stateCounts[state] ?? 0
            card(state.rawValue, n, n > 0 ? "state s-\(state.rawValue)" : "state zero", id: state.rawValue)
        }
        if policyPath != nil { card("policy-violation", policyViolationTokens, policyViolationTokens > 0 ? "state s-policy-violation" : "state zero", id: "policy-violation") }
        h.raw("</div>\n</section>\n")
    }

    // MARK: charts (inline SVG drawn from the data)

    static let stateColours: [DerivedState: String] = [
        .expired: "#c0392b", .orphaned: "#8e44ad", .foreignUse: "#d35400", .rotationOverdue: "#e67e22",
        .reviewOverdue: "#f1c40f", .noExpiry: "#2980b9", .stale: "#7f8c8d",
    ]

    func charts(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"charts\">\n<h2>Charts</h2>\n<div class=\"charts\">\n")
        ownersChart(&h)
        barChart(&h, id: "chart-expiries", title: "Expiries per week, next 12 weeks",
                 labels: (0..<12).map { Time.day(asOf + Int64($0) * 7 * 86_400).dropFirst(5).description },
                 values: expiriesPerWeek, colour: "#c0392b")
        barChart(&h, id: "chart-age", title: "Active tokens by age since issue",
                 labels: HTMLReport.ageBuckets.map(\.label), values: ageSinceIssue, colour: "#2980b9")
        barChart(&h, id: "chart-rotation", title: "Active tokens by time since last rotation",
                 labels: HTMLReport.ageBuckets.map(\.label), values: ageSinceRotation, colour: "#e67e22")
        h.raw("</div>\n</section>\n")
    }

    func ownersChart(_ h: inout HTMLBuilder) {
        let top = owners.filter { $0.flagged > 0 }
            .sorted { a, b in a.flagged != b.flagged ? a.flagged > b.flagged : a.id < b.id }.prefix(HTMLReport.topOwners)
        h.raw("<figure id=\"chart-owners\">\n<figcaption>Tokens by state per owner (top \(HTMLReport.topOwners) owners by tokens with findings)</figcaption>\n")
        guard !top.isEmpty else {
            h.raw("<p class=\"empty\">No owner has a token in any state.</p>\n</figure>\n")
            return
        }
        let maxTotal = max(top.map { $0.byState.values.reduce(0, +) }.max() ?? 1, 1)
        let labelWidth = 140.0, barWidth = 300.0, rowHeight = 22.0
        let height = Double(top.count) * rowHeight + 52
        h.raw("<svg role=\"img\" viewBox=\"0 0 \(Int(labelWidth + barWidth + 60)) \(Int(height))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\n")
        h.raw("<title>Tokens by state per owner</title>\n")
        for (row, owner) in top.enumerated() {
            let y = Double(row) * rowHeight + 4
            h.raw("<text x=\"\(Int(labelWidth - 6))\" y=\"\(Int(y + 14))\" text-anchor=\"end\" class=\"lbl\">\(HTML.escape(HTMLReport.clip(owner.id, 22)))</text>\n")
            var x = labelWidth
            for state in DerivedState.allCases {
                guard let n = owner.byState[state], n > 0 else { continue }
                let w = Double(n) / Double(maxTotal) * barWidth
                h.raw("<rect x=\"\(HTMLReport.num(x))\" y=\"\(Int(y))\" width=\"\(HTMLReport.num(max(w, 1)))\" height=\"16\" fill=\"\(HTMLReport.stateColours[state]!)\"><title>\(HTML.escape(owner.id)): \(n) \(state.rawValue)</title></rect>\n")
                x += w
            }
            h.raw("<text x=\"\(HTMLReport.num(x + 4))\" y=\"\(Int(y + 14))\" class=\"val\">\(owner.byState.values.reduce(0, +))</text>\n")
        }
        // Legend, wrapped onto as many rows as it needs.
        var lx = 0.0
        var ly = Double(top.count) * rowHeight + 12
        for state in DerivedState.allCases {
            let width = Double(state.rawValue.count) * 6 + 26
            if lx + width > labelWidth + barWidth + 60 { lx = 0; ly += 16 }
            h.raw("<rect x=\"\(HTMLReport.num(lx))\" y=\"\(Int(ly))\" width=\"10\" height=\"10\" fill=\"\(HTMLReport.stateColours[state]!)\"/>")
            h.raw("<text x=\"\(HTMLReport.num(lx + 13))\" y=\"\(Int(ly + 9))\" class=\"leg\">\(state.rawValue)</text>\n")
            lx += width
        }
        h.raw("</svg>\n</figure>\n")
    }

    func barChart(_ h: inout HTMLBuilder, id: String, title: String, labels: [String], values: [Int], colour: String) {
        h.raw("<figure id=\"\(id)\">\n<figcaption>\(HTML.escape(title))</figcaption>\n")
        let maxValue = max(values.max() ?? 0, 1)
        let width = 480.0, plotHeight = 140.0, top = 16.0
        let slot = width / Double(max(values.count, 1))
        h.raw("<svg role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(plotHeight + top + 30))\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\n")
        h.raw("<title>\(HTML.escape(title))</title>\n")
        h.raw("<line x1=\"0\" y1=\"\(Int(top + plotHeight))\" x2=\"\(Int(width))\" y2=\"\(Int(top + plotHeight))\" class=\"axis\"/>\n")
        for (i, value) in values.enumerated() {
            let barHeight = Double(value) / Double(maxValue) * plotHeight
            let x = Double(i) * slot + slot * 0.15
            let y = top + plotHeight - barHeight
            h.raw("<rect x=\"\(HTMLReport.num(x))\" y=\"\(HTMLReport.num(y))\" width=\"\(HTMLReport.num(slot * 0.7))\" height=\"\(HTMLReport.num(barHeight))\" fill=\"\(colour)\"><title>\(HTML.escape(labels[i])): \(value)</title></rect>\n")
            h.raw("<text x=\"\(HTMLReport.num(x + slot * 0.35))\" y=\"\(HTMLReport.num(y - 3))\" text-anchor=\"middle\" class=\"val\">\(value)</text>\n")
            h.raw("<text x=\"\(HTMLReport.num(x + slot * 0.35))\" y=\"\(Int(top + plotHeight + 14))\" text-anchor=\"middle\" class=\"lbl\">\(HTML.escape(labels[i]))</text>\n")
        }
        h.raw("</svg>\n</figure>\n")
    }

    // MARK: tables

    func capNote(_ h: inout HTMLBuilder, shown: Int, total: Int, what: String, full: String) {
        if shown < total {
            h.raw("<p class=\"cap\">Showing the first \(Progress.grouped(shown)) of \(Progress.grouped(total)) \(what). ")
            h.raw("The full list: <code>\(HTML.escape(full))</code>.</p>\n")
        } else {
            h.raw("<p class=\"total\">\(Progress.grouped(total)) \(what).</p>\n")
        }
    }

    var asOfArgument: String { "--as-of \(Time.iso(asOf))" }

    func findingsTable(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"findings\">\n<h2>Findings</h2>\n")
        capNote(&h, shown: findings.count, total: findingsTotal, what: "findings (most urgent first)",
                full: "nhi check --format json \(asOfArgument)")
        guard !findings.isEmpty else { h.raw("<p class=\"empty\">No findings.</p>\n</section>\n"); return }
        findingRows(&h, findings, stateBadges: true)
    }

    /// The token table the findings and offboarding sections share; the findings colour each state.
    func findingRows(_ h: inout HTMLBuilder, _ rows: [Finding], stateBadges: Bool) {
        h.raw("<table>\n<thead><tr><th>Token</th><th>Owner</th><th>System</th><th>Agent</th><th>State</th><th>Reason</th><th>Since</th></tr></thead>\n<tbody>\n")
        for f in rows {
            let state = HTML.escape(f.state)
            h.raw("<tr><td>\(HTML.escape(f.tokenID))</td><td>\(HTML.escape(f.owner))</td><td>\(HTML.escape(f.system))</td><td>\(HTML.escape(f.agent))</td>")
            h.raw("<td>\(stateBadges ? "<span class=\"st s-\(state)\">\(state)</span>" : state)</td><td>\(HTML.escape(f.reason))</td><td>\(f.since.map { HTML.escape(Time.day($0)) } ?? "-")</td></tr>\n")
        }
        h.raw("</tbody>\n</table>\n</section>\n")
    }

    func ownersTable(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"owners\">\n<h2>Owners</h2>\n")
        let shown = owners.prefix(maxRows)
        capNote(&h, shown: shown.count, total: ownersShownTotal, what: "owners (most tokens that must go first)",
                full: "nhi report owners --format csv \(asOfArgument)")
        guard !shown.isEmpty else { h.raw("<p class=\"empty\">No owners.</p>\n</section>\n"); return }
        h.raw("<table>\n<thead><tr><th>Owner</th><th>Name</th><th>Team</th><th>Status</th><th>Active</th>")
        for state in DerivedState.allCases { h.raw("<th>\(state.rawValue)</th>") }
        h.raw("</tr></thead>\n<tbody>\n")
        for o in shown {
            h.raw("<tr><td>\(HTML.escape(o.id))</td><td>\(HTML.escape(o.name))</td><td>\(HTML.escape(o.team ?? "-"))</td>")
            h.raw("<td>\(o.status == "departed" ? "<span class=\"st s-orphaned\">departed</span>" : HTML.escape(o.status))</td><td class=\"n\">\(o.active)</td>")
            for state in DerivedState.allCases {
                let n = o.byState[state] ?? 0
                h.raw(n > 0 ? "<td class=\"n hot\">\(n)</td>" : "<td class=\"n\">0</td>")
            }
            h.raw("</tr>\n")
        }
        h.raw("</tbody>\n</table>\n</section>\n")
    }

    func offboardingTable(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"offboarding\">\n<h2>Offboarding</h2>\n<p>Active tokens that must go: orphaned or expired.</p>\n")
        capNote(&h, shown: offboarding.count, total: offboardingTotal, what: "tokens to offboard",
                full: "nhi report offboarding --format csv \(asOfArgument)")
        guard !offboarding.isEmpty else { h.raw("<p class=\"empty\">Nothing to offboard.</p>\n</section>\n"); return }
        findingRows(&h, offboarding, stateBadges: false)
    }

    func controlsTable(_ h: inout HTMLBuilder) {
        h.raw("<section id=\"controls\">\n<h2>Framework controls</h2>\n")
        h.raw("<p>Each control nhi evidences, the states and policy rules that evidence it, and how many active tokens currently fail it (see Docs/controls.md).</p>\n")
        h.raw("<table>\n<thead><tr><th>Framework</th><th>Control</th><th>Title</th><th>Evidenced by</th><th>Tokens failing</th></tr></thead>\n<tbody>\n")
        for row in controls {
            h.raw("<tr><td class=\"nw\">\(HTML.escape(row.control.framework.shortName))</td><td class=\"nw\">\(HTML.escape(row.control.id))</td><td>\(HTML.escape(row.control.title))</td>")
            h.raw("<td>\(HTML.escape(row.subjects.joined(separator: ", ")))</td><td class=\"n\(row.failing > 0 ? " hot" : "")\">\(row.failing)</td></tr>\n")
        }
        h.raw("</tbody>\n</table>\n</section>\n")
    }

    static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// A coordinate with at most one decimal, so the SVG stays small.
    static func num(_ value: Double) -> String {
        let tenths = (value * 10).rounded()
        let whole = Int(tenths) / 10, frac = abs(Int(tenths) % 10)
        return frac == 0 ? "\(whole)" : "\(tenths < 0 && whole == 0 ? "-" : "")\(whole).\(frac)"
    }

    static let css = """
        :root{--fg:#1d2733;--muted:#5d6b7a;--line:#d5dbe1;--bg:#fff;--ok:#1e8449;--bad:#c0392b;--warn:#b9770e}
        *{box-sizing:border-box}
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg);margin:0 auto;max-width:1200px;padding:24px}
        h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
        dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
        code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
        .badge{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-weight:600}.badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
        .cards{display:flex;flex-wrap:wrap;gap:8px;margin:8px 0}
        .card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:120px}
        .card .n{font-size:22px;font-weight:700}.card .l{color:var(--muted)}
        .card.bad .n,.card.state .n{color:var(--bad)}.card.ok .n{color:var(--ok)}.card.zero .n{color:var(--muted)}
        .charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}
        figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:8px}figcaption{font-weight:600;margin-bottom:4px}
        svg text{font:10px system-ui,sans-serif;fill:var(--fg)}svg .axis{stroke:var(--muted)}
        table{border-collapse:collapse;width:100%;font-size:13px}
        th,td{border-bottom:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
        th{background:#f3f5f7;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}td.hot{color:var(--bad);font-weight:600}
        .st{white-space:nowrap;font-weight:600}td.nw{white-space:nowrap}.s-expired{color:#c0392b}.s-orphaned{color:#8e44ad}.s-foreign-use{color:#d35400}
        .s-rotation-overdue{color:#b9570e}.s-review-overdue{color:#9a7d0a}.s-no-expiry{color:#2471a3}.s-stale{color:#566573}.s-policy-violation{color:#922b21}
        .cap{background:#fdf2e9;border:1px solid #f0b27a;padding:6px 10px;border-radius:4px}.total,.empty{color:var(--muted)}
        footer{margin-top:32px;color:var(--muted);font-size:12px}
        @media print{
          body{max-width:none;padding:0;font-size:11px}
          th{position:static}
          .charts{grid-template-columns:1fr 1fr}
          figure,.card,tr{break-inside:avoid}
          h2{break-after:avoid}
          thead{display:table-header-group}
          *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
          @page{margin:12mm}
        }
        """
}

/// Escaping for HTML text and attribute values: the same five characters as XML (`&apos;` is valid HTML5), so one
/// escaper with one fast path serves the JUnit report and the page.
public enum HTML {
    public static func escape(_ text: String) -> String { XML.escape(text) }
}

/// Accumulates the page; large reports append many small pieces.
struct HTMLBuilder {
    var text = ""
    init() { text.reserveCapacity(1 << 20) }
    mutating func raw(_ s: String) { text += s }
}
