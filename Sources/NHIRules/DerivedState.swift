import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// The derived states of a token, each defined exactly once, here (`holds`), over the facts of one token at an
/// instant (`--as-of`). Every report, `check`, `scan` and the HTML report read them through `StateQuery`, so they
/// can never disagree.
public enum DerivedState: String, CaseIterable, Sendable, Comparable {
    case expired
    case orphaned
    case foreignUse = "foreign-use"
    case scopeCreep = "scope-creep"
    case humanUse = "human-use"
    case rotationOverdue = "rotation-overdue"
    case reviewOverdue = "review-overdue"
    case noExpiry = "no-expiry"
    case stale
    case unaccountable

    /// The definition of each state (SPEC, "Derived states"), for an active token. Only active tokens are in any
    /// state (`StateQuery` reads no other): a revoked token needs nothing more.
    public func holds(_ facts: StateFacts, at instant: Instant, maxUnused: Int64) -> Bool {
        let t = facts
        switch self {
        case .expired: return t.expiresAt.map { $0 < instant } ?? false
        case .orphaned:
            // Bound, not compared with `== nil`: that is Optional's Equatable `==`, which copied both entities into a
            // tuple and destroyed it through the runtime, twice per token (Docs/benchmarks.md, issue 13).
            guard let owner = t.owner, let agent = t.agent else { return true }
            return owner.status == "departed" || agent.status == "decommissioned" || agent.owner?.status == "departed"
        case .foreignUse: return t.firstForeignUseAt.map { $0 <= instant } ?? false
        case .scopeCreep: return t.firstScopeCreepAt.map { $0 <= instant } ?? false
        // An agent not registered counts as autonomous, the default mode (it is also orphaned).
        case .humanUse: return !t.agentHumanTriggered && (t.firstHumanUseAt.map { $0 <= instant } ?? false)
        case .rotationOverdue: return DerivedState.due(last: t.lastRotatedAt, issued: t.issuedAt, every: t.rotateEvery) < instant
        case .reviewOverdue: return DerivedState.due(last: t.lastReviewedAt, issued: t.issuedAt, every: t.reviewEvery) < instant
        case .noExpiry: return t.expiresAt == nil
        case .stale: return DerivedState.due(last: t.lastUsedAt, issued: t.issuedAt, every: maxUnused) < instant
        case .unaccountable: return !t.systemGap.isEmpty
        }
    }

    /// When a rotation, a review or the next use falls due: the last one (or the issue, when there was none) plus
    /// its interval. The rotation and review deadlines are also stored, the same sum, as the generated columns
    /// `rotation_due_at` and `review_due_at` (Schema migration 1), which their indexes and `candidateSQL` read.
    /// Never traps: a sum past Int64 is "never due" (`.max`); the scan refuses out-of-range facts before this.
    package static func due(last: Instant?, issued: Instant, every: Int64) -> Instant {
        let (sum, overflow) = (last ?? issued).addingReportingOverflow(every)
        return overflow ? (every > 0 ? .max : .min) : sum
    }

    /// The column of the token row `t` holding the instant the token enters the state (nil: no column does, as
    /// for orphaned, foreign-use and stale, which need every active token's facts). Its index lets SQLite read only
    /// the candidates: `tokens_by_expiry`, `tokens_by_rotation_due`, `tokens_by_review_due`.
    package var deadlineColumn: String? {
        switch self {
        case .expired: return "t.expires_at"
        case .rotationOverdue: return "t.rotation_due_at"
        case .reviewOverdue: return "t.review_due_at"
        case .orphaned, .foreignUse, .scopeCreep, .humanUse, .noExpiry, .stale, .unaccountable: return nil
        }
    }

    /// A SQL condition on `t` that holds for every token in the state at the instant `?N` (a superset, never
    /// fewer), for reading only the candidates through an index; `holds` still decides. nil: no index narrows it.
    package func candidateSQL(instant parameter: String) -> String? {
        if self == .noExpiry { return "t.expires_at IS NULL" }
        return deadlineColumn.map { "\($0) < \(parameter)" }
    }

    /// Like `candidateSQL`, for the tokens that enter the state after `from` and by `to` (not in it at `from`).
    package func enteringSQL(from: String, to: String) -> String? {
        deadlineColumn.map { "\($0) >= \(from) AND \($0) < \(to)" }
    }

    /// What makes a use scope creep: the scopes it exercised that the token was not granted at the time (exact
    /// names; the grant is the token's version in force at the use's instant). The usage log stores the result
    /// with each use when it is written (`usage.ungranted`), so `scope-creep` reads only the uses that have one.
    public static func ungrantedScopes(exercised: [String], granted: Set<String>) -> [String] {
        exercised.filter { !granted.contains($0) }
    }

    /// How urgent a state is: reports sort by it (lower first).
    public var severityRank: Int { DerivedState.allCases.firstIndex(of: self)! }

    public static func < (lhs: DerivedState, rhs: DerivedState) -> Bool { lhs.severityRank < rhs.severityRank }

    /// One line for humans and for SARIF rule help: what the state means and how to fix it.
    public var summary: String {
        switch self {
        case .expired: return "The token is active in the inventory but past its expiry."
        case .orphaned: return "The token's owner is unknown or departed, or its agent is unknown or decommissioned, or the agent's owner departed."
        case .foreignUse: return "The token was used by an agent other than the one it is bound to (credential reuse)."
        case .scopeCreep: return "A recorded use exercised a scope the token was not granted at the time of the use."
        case .humanUse: return "A named person used a token bound to an autonomous agent (human use of a non-human identity)."
        case .rotationOverdue: return "The token was not rotated within its rotation interval."
        case .reviewOverdue: return "The token was not reviewed within its review interval."
        case .noExpiry: return "The token never expires."
        case .stale: return "The token has not been used for longer than the policy allows."
        case .unaccountable: return "The token's system is not registered, or has no active policy owner or no active platform owner."
        }
    }

    public var remedy: String {
        switch self {
        case .expired: return "Revoke it (nhi token revoke ID --reason ...) or, if it was renewed, record the new expiry (nhi token rotate ID --expires DATE)."
        case .orphaned: return "Transfer it to an active owner (nhi token transfer ID --to OWNER), give its agent one (nhi agent transfer AGENT --to OWNER), or revoke it; offboarding does both, also after a departure (nhi offboard owner ID --transfer-to ID2)."
        case .foreignUse: return "Find out which agent holds the credential, issue each agent its own token, and rotate this one (nhi token rotate ID --secret-stdin)."
        case .scopeCreep: return "Find out how the credential exercised the scope; if the grant is right, record it (nhi token update ID --scopes ...), else narrow it at the issuer and rotate (nhi token rotate ID --secret-stdin)."
        case .humanUse: return "Give the person their own credential and rotate this one (nhi token rotate ID --secret-stdin), or, if a person starts each run, record that (nhi agent update AGENT --mode human-triggered)."
        case .rotationOverdue: return "Rotate the credential at its issuer and record it: nhi token rotate ID --secret-stdin."
        case .reviewOverdue: return "Review it: nhi review ID --decision keep|revoke --note ...."
        case .noExpiry: return "Give it an expiry: nhi token update ID --expires DATE (and at the issuer)."
        case .stale: return "Revoke it if nothing needs it any more: nhi token revoke ID --reason unused."
        case .unaccountable: return "Register the system with its role owners (nhi system add SYSTEM --policy-owner O --platform-owner O) or give a departed role to an active owner (nhi system update SYSTEM --policy-owner O)."
        }
    }

    /// The states `check` fails on unless told otherwise (SPEC).
    public static let defaultFailOn: [DerivedState] = [.expired, .orphaned]

    /// Parses a comma-separated list of state names (`--fail-on`), naming the bad one.
    public static func parseList(_ text: String, allowing extra: Set<String> = []) throws(NHIError) -> [String] {
        var result: [String] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false).map(String.init) {
            guard DerivedState(rawValue: item) != nil || extra.contains(item) else {
                let all = DerivedState.allCases.map(\.rawValue) + extra.sorted()
                throw .data("unknown state '\(Redaction.printable(item))' (states: \(all.joined(separator: ", ")))")
            }
            if !result.contains(item) { result.append(item) }
        }
        return result
    }
}

/// A token in one or more derived states, with everything a report row or finding needs.
public struct TokenStates: Sendable {
    public let token: Token
    public let ownerStatus: String?
    public let ownerDepartedAt: Instant?
    public let agentStatus: String?
    public let agentDecommissionedAt: Instant?
    public let foreignAgent: String?
    public let foreignUseAt: Instant?
    public let states: [DerivedState]
    /// The agent's owner, when it departed (orphaned: a workload nobody answers for).
    public let agentOwnerID: String?
    public let agentOwnerDepartedAt: Instant?
    /// What the token's system lacks (unaccountable); empty when it is accountable.
    public let systemGap: SystemGap
    /// The latest use as of the instant that exercised scopes not granted (scope-creep): those scopes.
    public let scopeCreep: UseEvidence?
    /// The latest use as of the instant by a named person (human-use): that person.
    public let humanUse: UseEvidence?

    package init(token: Token, ownerStatus: String?, ownerDepartedAt: Instant?, agentStatus: String?,
                 agentDecommissionedAt: Instant?, foreignAgent: String?, foreignUseAt: Instant?, states: [DerivedState],
                 agentOwnerID: String? = nil, agentOwnerDepartedAt: Instant? = nil, systemGap: SystemGap = [],
                 scopeCreep: UseEvidence? = nil, humanUse: UseEvidence? = nil) {
        self.token = token; self.ownerStatus = ownerStatus; self.ownerDepartedAt = ownerDepartedAt
        self.agentStatus = agentStatus; self.agentDecommissionedAt = agentDecommissionedAt
        self.foreignAgent = foreignAgent; self.foreignUseAt = foreignUseAt; self.states = states
        self.agentOwnerID = agentOwnerID; self.agentOwnerDepartedAt = agentOwnerDepartedAt; self.systemGap = systemGap
        self.scopeCreep = scopeCreep; self.humanUse = humanUse
    }

    /// Why the token is in `state`, in words an auditor reads ("owner dave departed 2026-06-01").
    public func reason(_ state: DerivedState, maxUnused: Int64) -> String {
        let t = token
        switch state {
        case .expired: return "expired \(Time.day(t.expiresAt ?? 0))"
        case .orphaned:
            var parts: [String] = []
            if ownerStatus == nil { parts.append("owner \(t.ownerID) unknown") }
            else if ownerStatus == "departed" { parts.append("owner \(t.ownerID) departed" + (ownerDepartedAt.map { " \(Time.day($0))" } ?? "")) }
            if agentStatus == nil { parts.append("agent \(t.agentID) unknown") }
            else if agentStatus == "decommissioned" { parts.append("agent \(t.agentID) decommissioned" + (agentDecommissionedAt.map { " \(Time.day($0))" } ?? "")) }
            // The agent's owner, unless that is the token's own departed owner, already named.
            if let agentOwnerID, !(agentOwnerID == t.ownerID && ownerStatus == "departed") { parts.append("agent \(t.agentID)'s owner \(agentOwnerID) departed" + (agentOwnerDepartedAt.map { " \(Time.day($0))" } ?? "")) }
            return parts.joined(separator: "; ")
        case .rotationOverdue:
            let base = t.lastRotatedAt.map { "last rotated \(Time.day($0))" } ?? "never rotated since issue \(Time.day(t.issuedAt))"
            return "rotation due \(Time.day(rotationDueAt)) (\(base), every \(Duration.format(t.rotateEvery)))"
        case .reviewOverdue:
            let base = t.lastReviewedAt.map { "last reviewed \(Time.day($0))" } ?? "never reviewed since issue \(Time.day(t.issuedAt))"
            return "review due \(Time.day(reviewDueAt)) (\(base), every \(Duration.format(t.reviewEvery)))"
        case .noExpiry: return "expires never"
        case .foreignUse:
            return "used by agent \(foreignAgent ?? "?") at \(foreignUseAt.map(Time.iso) ?? "?"); bound to \(t.agentID)"
        case .scopeCreep:
            return "used with scope \(scopeCreep?.detail ?? "?") not granted at the time, by agent \(scopeCreep?.agent ?? "?") at \(scopeCreep.map { Time.iso($0.at) } ?? "?")"
        case .humanUse:
            return "used by \(humanUse?.detail ?? "?") through agent \(humanUse?.agent ?? "?") at \(humanUse.map { Time.iso($0.at) } ?? "?"); bound to autonomous agent \(t.agentID)"
        case .stale:
            let last = t.lastUsedAt.map { "last used \(Time.day($0))" } ?? "never used since issue \(Time.day(t.issuedAt))"
            return "\(last); unused for longer than \(Duration.format(maxUnused))"
        case .unaccountable:
            if systemGap.contains(.unregistered) { return "system \(t.system) is not registered" }
            var missing: [String] = []
            if systemGap.contains(.noPolicyOwner) { missing.append("no active policy owner") }
            if systemGap.contains(.noPlatformOwner) { missing.append("no active platform owner") }
            return "system \(t.system) has " + missing.joined(separator: " and ")
        }
    }

    /// Since when the token has been in `state` (for sorting by urgency and for "since" columns).
    public func since(_ state: DerivedState, maxUnused: Int64) -> Instant? {
        let t = token
        switch state {
        case .expired: return t.expiresAt
        case .orphaned:
            if ownerStatus == "departed" { return ownerDepartedAt }
            if agentStatus == "decommissioned" { return agentDecommissionedAt }
            return agentOwnerDepartedAt
        case .rotationOverdue: return rotationDueAt
        case .reviewOverdue: return reviewDueAt
        case .noExpiry: return t.issuedAt
        case .foreignUse: return foreignUseAt
        case .scopeCreep: return scopeCreep?.at
        case .humanUse: return humanUse?.at
        case .stale: return DerivedState.due(last: t.lastUsedAt, issued: t.issuedAt, every: maxUnused)
        case .unaccountable: return nil
        }
    }

    public var rotationDueAt: Instant { DerivedState.due(last: token.lastRotatedAt, issued: token.issuedAt, every: token.rotateEvery) }
    public var reviewDueAt: Instant { DerivedState.due(last: token.lastReviewedAt, issued: token.issuedAt, every: token.reviewEvery) }
}

/// One recorded use that puts a token in a state, for the reason a report gives: when, by which agent, and what
/// (the scopes not granted, for scope-creep; the person, for human-use).
public struct UseEvidence: Sendable, Equatable {
    public let at: Instant
    public let agent: String
    public let detail: String
    public init(at: Instant, agent: String, detail: String) { self.at = at; self.agent = agent; self.detail = detail }
}

/// What the definitions of the states read about one token: its dates and intervals, its owner and agent as
/// registered (nil: unknown), and its uses by other agents.
public struct StateFacts: Sendable {
    /// A class, not a struct: the scan hands each token's owner and agent (read once per entity, shared by its
    /// tokens) through facts, `holds` and the arena, and a struct of strings and an optional struct of strings was
    /// copied and destroyed there through the runtime's generic value witnesses: a tenth of `check` (issue 13).
    /// Immutable, so sharing one is as good as a copy.
    public final class Entity: Sendable, Equatable {
        /// `active`, `departed` (owners) or `decommissioned` (agents).
        public let status: String
        /// When it departed or was decommissioned.
        public let since: Instant?
        /// For an agent: its owner, when that owner is not active (an active one is left out, as nothing follows).
        public let owner: Owner?

        public init(status: String, since: Instant?, owner: Owner? = nil) {
            self.status = status; self.since = since; self.owner = owner
        }

        public static func == (lhs: Entity, rhs: Entity) -> Bool {
            lhs.status == rhs.status && lhs.since == rhs.since && lhs.owner == rhs.owner
        }
    }

    /// An agent's owner as registered.
    public struct Owner: Sendable, Equatable {
        public let id: String
        public let status: String
        public let since: Instant?
        public init(id: String, status: String, since: Instant?) { self.id = id; self.status = status; self.since = since }
    }

    /// The token's system as governance records it: whether its policy and platform owners are active owners (unset,
    /// unknown or departed: not). Two flags, not the owners: the facts are copied per token a million times a scan.
    public struct System: Sendable, Equatable {
        public let policyOwnerActive: Bool
        public let platformOwnerActive: Bool
        /// From the role owners as registered (nil: unset or unknown).
        public init(policyOwner: Entity?, platformOwner: Entity?) {
            policyOwnerActive = policyOwner?.status == "active"
            platformOwnerActive = platformOwner?.status == "active"
        }
    }

    public var issuedAt: Instant
    public var expiresAt: Instant?
    public var rotateEvery: Int64
    public var lastRotatedAt: Instant?
    public var reviewEvery: Int64
    public var lastReviewedAt: Instant?
    public var lastUsedAt: Instant?
    public var owner: Entity?
    public var agent: Entity?
    /// The earliest use by an agent other than the bound one (up to the instant the query looks at).
    public var firstForeignUseAt: Instant?
    /// The token's system as registered (nil: not registered).
    public var system: System?
    /// The earliest use that exercised a scope not granted at its time (up to the instant the query looks at).
    public var firstScopeCreepAt: Instant?
    /// The earliest use by a named person (up to the instant the query looks at).
    public var firstHumanUseAt: Instant?
    /// The bound agent is registered as human-triggered (a person's use is expected).
    public var agentHumanTriggered = false

    /// The first fact outside what nhi writes (`Time.storable`, `Duration.storable`), with its column: a direct
    /// edit such as `last_used_at = 9223372036854775807`. A few comparisons per row, so every scan can afford it.
    package var outOfRange: (column: TokenColumn, value: Int64)? {
        let instants = Time.storable, intervals = Duration.storable
        if !instants.contains(issuedAt) { return (.issuedAt, issuedAt) }
        if let v = expiresAt, !instants.contains(v) { return (.expiresAt, v) }
        if !intervals.contains(rotateEvery) { return (.rotateEvery, rotateEvery) }
        if let v = lastRotatedAt, !instants.contains(v) { return (.lastRotatedAt, v) }
        if !intervals.contains(reviewEvery) { return (.reviewEvery, reviewEvery) }
        if let v = lastReviewedAt, !instants.contains(v) { return (.lastReviewedAt, v) }
        if let v = lastUsedAt, !instants.contains(v) { return (.lastUsedAt, v) }
        return nil
    }

    /// Exit 4, naming the row and the value: the store holds what nhi never wrote.
    package static func outOfRangeError(token: String, _ bad: (column: TokenColumn, value: Int64)) -> NHIError {
        .store("token \(Redaction.printable(token)): \(bad.column.name) \(bad.value) is out of range (nhi never writes it: the store was edited directly; audit verify names the change)")
    }

    public init(issuedAt: Instant, expiresAt: Instant?, rotateEvery: Int64, lastRotatedAt: Instant?, reviewEvery: Int64,
                lastReviewedAt: Instant?, lastUsedAt: Instant?, owner: Entity?, agent: Entity?, firstForeignUseAt: Instant?,
                system: System? = nil, firstScopeCreepAt: Instant? = nil, firstHumanUseAt: Instant? = nil,
                agentHumanTriggered: Bool = false) {
        self.issuedAt = issuedAt; self.expiresAt = expiresAt; self.rotateEvery = rotateEvery
        self.lastRotatedAt = lastRotatedAt; self.reviewEvery = reviewEvery; self.lastReviewedAt = lastReviewedAt
        self.lastUsedAt = lastUsedAt; self.owner = owner; self.agent = agent; self.firstForeignUseAt = firstForeignUseAt
        self.system = system; self.firstScopeCreepAt = firstScopeCreepAt; self.firstHumanUseAt = firstHumanUseAt
        self.agentHumanTriggered = agentHumanTriggered
    }

    /// What the system lacks for `unaccountable`: registration, an active policy owner, an active platform owner.
    public var systemGap: SystemGap {
        guard let system else { return .unregistered }
        var gap: SystemGap = []
        if !system.policyOwnerActive { gap.insert(.noPolicyOwner) }
        if !system.platformOwnerActive { gap.insert(.noPlatformOwner) }
        return gap
    }
}

/// Why a token is unaccountable (one byte in the check arena).
public struct SystemGap: OptionSet, Sendable, Equatable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let unregistered = SystemGap(rawValue: 1)
    public static let noPolicyOwner = SystemGap(rawValue: 2)
    public static let noPlatformOwner = SystemGap(rawValue: 4)
}

/// Evaluates derived states: the one place that applies `DerivedState.holds` to the inventory.
///
/// How, at a million tokens (Docs/benchmarks.md): one scan of the active tokens in id order (through an index of
/// candidates when every state asked for has one), the owners and agents read once into hash tables instead of
/// joined per token (two B-tree seeks on text keys per token were most of the SQL time), and the uses by other
/// agents read from `usage` once instead of looked up per token.
public struct StateQuery {
    public var asOf: Instant
    /// The longest a token may go unused before it is `stale` (policy `max_unused`, default 90d).
    public var maxUnused: Int64
    /// Which states to look for; a token in none of them is not returned.
    public var states: [DerivedState] = DerivedState.allCases
    /// Extra conditions on the token row `t` (constant SQL text with named parameters such as `:owner`; the
    /// query's own are `:as_of`, `:max_unused` and `:horizon`) and their values.
    public var extraCondition: String?
    public var extraArguments: [String: SQLValue] = [:]
    /// Choose rows as if the states were evaluated this much later (reports "due within 14d": would be in the
    /// state at as-of + lookahead); the per-state flags of each row stay evaluated at `asOf`.
    public var lookahead: Int64 = 0
    /// False: read only the token columns that states, reasons, reports and `check` read (`briefColumns`);
    /// the other `Token` fields (purpose, scopes, labels, fingerprint, revocation, created/updated) are left empty.
    /// At a million tokens, reading and decoding the unused text columns was a third of a report's time.
    public var fullTokens = true
    /// False: tokens come in whatever order is cheapest to read (for callers that sort or aggregate themselves).
    public var inIDOrder = true
    /// True: only the tokens in none of the states at as-of that are in one at as-of + lookahead (what falls due
    /// next: `expiring`). With a deadline column for every state, SQLite reads just that range of its index.
    public var enteringOnly = false
    /// True: return every active token, in a state or not (a report that counts all of them reads them once).
    public var everyActiveToken = false
    /// Read only the candidates of the states through an index when they all have one (`candidateSQL`). Off only
    /// in the test that proves the candidates never leave a token out.
    package var narrowsByIndex = true

    /// The token columns that states, reasons, reports and `check` read (all of them for `fullTokens`); the scan
    /// selects them in this order, then the row's key for the foreign uses (`rowidPosition`).
    package static let briefColumns: [TokenColumn] = [.id, .ownerID, .agentID, .system, .environment, .status, .issuedAt,
                                                      .expiresAt, .rotateEvery, .lastRotatedAt, .reviewEvery,
                                                      .lastReviewedAt, .lastUsedAt]
    package static let otherColumns: [TokenColumn] = [.purpose, .scopes, .fingerprint, .labels, .revokedAt, .revokeReason,
                                                      .createdAt, .updatedAt, .issuer]
    package static let briefLayout = ColumnLayout(briefColumns)
    package static let fullLayout = ColumnLayout(briefColumns + otherColumns)

    /// Where the scan's columns are in its rows.
    package var columns: ColumnLayout<TokenColumn> { fullTokens ? StateQuery.fullLayout : StateQuery.briefLayout }
    /// The position of the row's key (`t.rowid`), after the token columns.
    package var rowidPosition: Int32 { columns.end }

    public init(asOf: Instant, maxUnused: Int64 = PolicyRules.defaultMaxUnused, states: [DerivedState] = DerivedState.allCases) {
        self.asOf = asOf
        self.maxUnused = maxUnused
        self.states = states
    }

    /// The instant rows are chosen at, and its parameter: `:as_of` unless there is a lookahead.
    package var horizon: Instant { asOf + lookahead }
    package var horizonParameter: String { lookahead == 0 ? ":as_of" : ":horizon" }

    public var arguments: StatementArguments {
        var named = extraArguments
        named["as_of"] = .int(asOf)
        named["max_unused"] = .int(maxUnused)
        if lookahead != 0 { named["horizon"] = .int(horizon) }
        return .named(named)
    }

    package var extraSQL: String { extraCondition.map { " AND (\($0))" } ?? "" }

    /// Whether the scan reads only the candidates of the states, through an index.
    package var narrowsToCandidates: Bool {
        narrowsByIndex && !everyActiveToken && !states.isEmpty && states.allSatisfy { state in
            enteringOnly ? state.enteringSQL(from: ":as_of", to: ":as_of") != nil : state.candidateSQL(instant: ":as_of") != nil
        }
    }

    /// Whether the scan reads every active token (so the number of rows it read is the number of active tokens).
    public var readsEveryActiveToken: Bool { extraCondition == nil && !narrowsToCandidates }

    /// The token scan: active tokens (in id order unless `inIDOrder` is off), narrowed to the candidates when every
    /// state has an index.
    public var sql: String { sql(includingRevoked: false) }

    /// The scan, with revoked tokens too when a caller counts them in the same pass (never in a state).
    package func sql(includingRevoked: Bool, dialect: SQLDialect = .sqlite) -> String {
        let candidates = states.map { state in
            enteringOnly ? state.enteringSQL(from: ":as_of", to: horizonParameter) : state.candidateSQL(instant: horizonParameter)
        }
        let narrow = narrowsToCandidates ? " AND (" + candidates.map { "(\($0!))" }.joined(separator: " OR ") + ")" : ""
        // Unordered and unfiltered: one pass over the table in storage order (NOT INDEXED: otherwise SQLite walks an
        // index on status and seeks the table once per token). In id order, SQLite walks the id index and seeks the
        // table per token: sequential reads while ids were registered in order, random ones otherwise (on a 1M-token
        // store with shuffled ids `check` took 9.9 s wall that way, 7.4 s with SQLite sorting a storage-order scan,
        // whose sorter costs 5,700 instructions a row); callers that hold their rows anyway should ask for storage
        // order and sort what they keep. The status unindexed too: a view (as of a past instant) drops NOT INDEXED.
        let sequential = !inIDOrder && narrow.isEmpty && extraCondition == nil
        return """
            SELECT \(columns.selectList(table: "t")), t.rowid
            FROM tokens t\(sequential ? dialect.notIndexed : "")
            WHERE \(sequential ? dialect.unindexed("t.status") : "t.status") \(includingRevoked ? "IN ('active', 'revoked')" : "= 'active'")\(narrow)\(extraSQL)\(inIDOrder ? "\nORDER BY t.id" : "")
            """
    }

    /// Streams every active token in at least one of `states` (at the horizon), or every active token when
    /// `everyActiveToken`, each once, in id order unless `inIDOrder` is off.
    public func forEach(_ db: Database, _ body: (TokenStates) throws -> Void) throws {
        try scan(db) { item in
            let row = item.row, use = item.foreign
            try body(TokenStates(token: Token(cursor: row, columns: columns),
                                 ownerStatus: item.owner?.status, ownerDepartedAt: item.owner?.since,
                                 agentStatus: item.agent?.status, agentDecommissionedAt: item.agent?.since,
                                 foreignAgent: use?.latestAgent, foreignUseAt: use?.latestAt,
                                 states: DerivedState.allCases.enumerated().filter { item.found & (1 << $0.offset) != 0 }.map(\.element),
                                 agentOwnerID: item.agent?.owner.flatMap { $0.status == "departed" ? $0.id : nil },
                                 agentOwnerDepartedAt: item.agent?.owner.flatMap { $0.status == "departed" ? $0.since : nil },
                                 systemGap: item.found & StateQuery.unaccountableBit != 0 ? item.facts.systemGap : [],
                                 scopeCreep: item.found & StateQuery.scopeCreepBit != 0 ? item.creep?.latest : nil,
                                 humanUse: item.found & StateQuery.humanUseBit != 0 ? item.human?.latest : nil))
        }
    }

    // The states whose evidence a chosen row carries, as bits of `Scanned.found`: computed once, as a rank is a
    // search of `allCases` (three per chosen row were 0.4% of `check`).
    package static let unaccountableBit: StateMask = 1 << DerivedState.unaccountable.severityRank
    package static let scopeCreepBit: StateMask = 1 << DerivedState.scopeCreep.severityRank
    package static let humanUseBit: StateMask = 1 << DerivedState.humanUse.severityRank

    /// One chosen row of the scan, before it becomes a `TokenStates`: a caller that only counts (the owners report)
    /// needs no token built.
    package struct Scanned {
        /// Positioned on the row; valid only inside the scan's body.
        package let row: Cursor
        /// Where the token's columns are in `row` (one of StateQuery's static layouts, which live for the process).
        package unowned(unsafe) let columns: ColumnLayout<TokenColumn>
        /// The row's dates and intervals as the states read them (and its owner and agent).
        package let facts: StateFacts
        @inlinable package var owner: StateFacts.Entity? { facts.owner }
        @inlinable package var agent: StateFacts.Entity? { facts.agent }
        package let foreign: ForeignUses?
        /// The token's scope-creep and human uses (nil: none, or not asked for).
        package let creep: FlaggedUses?
        package let human: FlaggedUses?
        /// Bit i set: `DerivedState.allCases[i]` holds at as-of.
        package let found: StateMask
    }

    /// Returns how many active tokens it read (all of them when `readsEveryActiveToken`). `revoked`, when given,
    /// is called with each revoked token's row in the same pass (a report that counts them reads the table once).
    @discardableResult
    package func scan(_ db: Database, revoked: ((Cursor) throws -> Void)? = nil, _ body: (Scanned) throws -> Void) throws -> Int {
        if states.isEmpty && !everyActiveToken { return 0 }
        var read = 0
        // A filtered query (one token, one owner) looks each owner and agent up as it meets them; a whole-inventory
        // scan reads all of them once (150,000 rows at a million tokens: tens of milliseconds).
        let wholeInventory = extraCondition == nil
        let owners = states.contains(.orphaned)
            ? EntityLookup(db, all: "SELECT id, status, departed_at FROM owners",
                           one: "SELECT id, status, departed_at FROM owners WHERE id = ?", preload: wholeInventory) : nil
        // An agent comes with its owner (orphaned: the agent's owner departed), found in the owners just read: a join
        // with owners seeks a text key per agent (150,000 at a million tokens), 4% of `check` (issue 13).
        let agents = owners.map { owners in
            EntityLookup(db, all: "SELECT id, status, decommissioned_at, owner_id FROM agents",
                         one: "SELECT id, status, decommissioned_at, owner_id FROM agents WHERE id = ?",
                         preload: wholeInventory, owners: owners)
        }
        // Systems are few (hundreds): all read once, with their policy and platform owners' status.
        let systems = states.contains(.unaccountable) ? try SystemLookup(db) : nil
        let foreign = states.contains(.foreignUse) ? try foreignUses(db) : [:]
        let creeping = states.contains(.scopeCreep) ? try flaggedUses(db, .scopeCreep) : [:]
        let humans = states.contains(.humanUse) ? try flaggedUses(db, .humanUse) : [:]
        let asked = DerivedState.allCases.enumerated().filter { states.contains($0.element) }
        let (asOf, horizon, maxUnused, lookahead) = (self.asOf, self.horizon, self.maxUnused, self.lookahead)
        let c = columns, rowid = rowidPosition
        let (status, ownerID, agentID, issuedAt, expiresAt) = (c[.status], c[.ownerID], c[.agentID], c[.issuedAt], c[.expiresAt])
        let (rotateEvery, lastRotatedAt, reviewEvery) = (c[.rotateEvery], c[.lastRotatedAt], c[.reviewEvery])
        let (lastReviewedAt, lastUsedAt, system) = (c[.lastReviewedAt], c[.lastUsedAt], c[.system])
        try owners?.load()
        try agents?.load()
        let active = Array("active".utf8)
        try db.forEachCursor(sql(includingRevoked: revoked != nil, dialect: db.dialect), arguments) { row in
            if let revoked, row.withBytes(status, { !$0.elementsEqual(active) }) == true { return try revoked(row) }
            read += 1
            // The facts first, from the row's integers and the owner and agent ids; the token itself (five strings,
            // the id on the heap) only for a row that is chosen: most active tokens are in no state asked for.
            let owner = try owners?.find(row, ownerID)
            let agent = try agents?.find(row, agentID)
            let key = foreign.isEmpty && creeping.isEmpty && humans.isEmpty ? 0 : row.int(rowid) ?? 0
            let use = foreign.isEmpty ? nil : foreign[key]
            let creep = creeping.isEmpty ? nil : creeping[key]
            let human = humans.isEmpty ? nil : humans[key]
            let facts = StateFacts(issuedAt: row.int(issuedAt) ?? 0, expiresAt: row.int(expiresAt),
                                   rotateEvery: row.int(rotateEvery) ?? Token.defaultRotateEvery, lastRotatedAt: row.int(lastRotatedAt),
                                   reviewEvery: row.int(reviewEvery) ?? Token.defaultReviewEvery,
                                   lastReviewedAt: row.int(lastReviewedAt), lastUsedAt: row.int(lastUsedAt),
                                   owner: owner, agent: agent, firstForeignUseAt: use?.first,
                                   system: systems?.find(row, system), firstScopeCreepAt: creep?.first,
                                   firstHumanUseAt: human?.first, agentHumanTriggered: human?.agentHumanTriggered ?? false)
            if let bad = facts.outOfRange { throw StateFacts.outOfRangeError(token: row.string(c[.id]), bad) }
            var found: StateMask = 0
            var chosen = everyActiveToken
            for (bit, state) in asked {
                if state.holds(facts, at: asOf, maxUnused: maxUnused) {
                    found |= 1 << bit
                    chosen = true
                } else if lookahead != 0 && !chosen {
                    chosen = state.holds(facts, at: horizon, maxUnused: maxUnused)
                }
            }
            guard chosen, !(enteringOnly && found != 0) else { return }
            try body(Scanned(row: row, columns: c, facts: facts, foreign: use, creep: creep, human: human, found: found))
        }
        return read
    }

    public func all(_ db: Database) throws -> [TokenStates] {
        var result: [TokenStates] = []
        try forEach(db) { result.append($0) }
        return result
    }

    package static let foreignUseLayout = ColumnLayout(ForeignUseColumn.allCases)

    /// The columns of the foreign-use query.
    package enum ForeignUseColumn: Int, DeclaredColumn {
        case tokenRowid, agentID, at, useID
        package var name: String {
            switch self {
            case .tokenRowid: "t.rowid"
            case .agentID: "u.agent_id"
            case .at: "u.at"
            case .useID: "u.id"
            }
        }
    }

    /// The uses of active tokens by an agent other than the bound one, up to the horizon: per token the earliest
    /// (whether it is in the state) and the latest up to as-of (who used it, for the reason).
    package struct ForeignUses {
        package var first: Instant
        package var latestAgent: String?
        package var latestAt: Instant?
        package var latestID: Int64 = .min
    }

    /// The uses of active tokens up to the horizon that put them in scope-creep (a use with scopes not granted at
    /// its time) or human-use (a use by a named person), per token: the earliest, and the latest up to as-of for
    /// the reason. Only those uses are read, through the partial indexes `usage_scope_creep` and `usage_human`.
    package struct FlaggedUses {
        package var first: Instant
        package var latest: UseEvidence?
        package var latestID: Int64 = .min
        /// human-use: the bound agent is registered as human-triggered.
        package var agentHumanTriggered = false
    }

    package func flaggedUses(_ db: Database, _ state: DerivedState) throws -> [Int64: FlaggedUses] {
        let human = state == .humanUse
        let column = human ? "u.human" : "u.ungranted"
        var result: [Int64: FlaggedUses] = [:]
        try db.forEachCursor("""
            SELECT t.rowid, u.agent_id, u.at, u.id, \(column)\(human ? ", a.mode" : "")
            FROM usage u CROSS JOIN tokens t\(human ? " LEFT JOIN agents a ON a.id = t.agent_id" : "")
            WHERE \(column) IS NOT NULL AND t.id = u.token_id AND \(db.dialect.unindexed("t.status")) = 'active' AND u.at <= \(horizonParameter)\(extraSQL)
            """, arguments) { row in
            let token = row.int(0) ?? 0, at = row.int(2) ?? 0, id = row.int(3) ?? 0
            var entry = result[token] ?? FlaggedUses(first: at)
            entry.first = min(entry.first, at)
            if human { entry.agentHumanTriggered = row.text(5) == "human-triggered" }
            if at <= asOf, (at, id) > (entry.latest?.at ?? .min, entry.latestID) {
                entry.latest = UseEvidence(at: at, agent: row.string(1), detail: row.string(4))
                entry.latestID = id
            }
            result[token] = entry
        }
        return result
    }

    /// By the token's rowid: the scan probes it for every token, and an integer hashes in a few instructions.
    /// CROSS JOIN keeps `usage` the outer loop (each use finds its token by id): left to itself, SQLite walked all
    /// active tokens through an index on status and sought their uses, a random table read per token (880,000 at a
    /// million tokens: most of `check`'s time on a store whose ids were not registered in order).
    /// Through the as-of views SQLite flattens the join into each arm and drops CROSS JOIN's order; the unindexed
    /// status keeps it there (as of a past instant at 100k tokens each of these joins took 0.2 s with no uses).
    package func foreignUses(_ db: Database) throws -> [Int64: ForeignUses] {
        var result: [Int64: ForeignUses] = [:]
        let c = StateQuery.foreignUseLayout
        try db.forEachCursor("""
            SELECT \(c.selectList())
            FROM usage u CROSS JOIN tokens t
            WHERE t.id = u.token_id AND \(db.dialect.unindexed("t.status")) = 'active' AND u.agent_id <> t.agent_id AND u.at <= \(horizonParameter)\(extraSQL)
            """, arguments) { row in
            let token = row.int(c[.tokenRowid]) ?? 0, at = row.int(c[.at]) ?? 0, id = row.int(c[.useID]) ?? 0
            var entry = result[token] ?? ForeignUses(first: at)
            entry.first = min(entry.first, at)
            // The latest use as of `asOf`; of uses at the same second, the one recorded last.
            if at <= asOf, (at, id) > (entry.latestAt ?? .min, entry.latestID) {
                entry.latestAgent = row.string(c[.agentID])
                entry.latestAt = at
                entry.latestID = id
            }
            result[token] = entry
        }
        return result
    }
}

/// Owners or agents by id, as `orphaned` reads them: all read up front for a whole-inventory scan, or each read on
/// first use (and remembered, found or not) for a filtered one. Active ones are kept as a set of ids (most tokens'
/// owners and agents are active), probed straight from the row's bytes (`IDMap`).
package final class EntityLookup {
    package static let active = StateFacts.Entity(status: "active", since: nil)
    package let db: Database
    package let allSQL: String, oneSQL: String
    package let preload: Bool
    package var activeIDs = IDMap()
    package var others: [String: StateFacts.Entity] = [:]
    package var missing: Set<String> = []

    /// For agents: the owners, to find the owner named by a row's fourth column in.
    package let owners: EntityLookup?

    package init(_ db: Database, all: String, one: String, preload: Bool, owners: EntityLookup? = nil) {
        self.owners = owners
        self.db = db
        self.allSQL = all
        self.oneSQL = one
        self.preload = preload
    }

    package func load() throws {
        guard preload else { return }
        try db.forEachCursor(allSQL) { row in remember(row.string(0), try entity(row)) }
    }

    /// An owner (id, status, since) or an agent (the same, then its owner's id) from a row; an active or unknown
    /// owner of an agent is left out, so an active agent of an active owner is `active`.
    private func entity(_ row: Cursor) throws -> StateFacts.Entity {
        var owner: StateFacts.Owner?
        if let owners, !row.isNull(3), let found = try owners.find(row, 3), found.status != "active" {
            owner = StateFacts.Owner(id: row.string(3), status: found.status, since: found.since)
        }
        return StateFacts.Entity(status: row.string(1), since: row.int(2), owner: owner)
    }

    private func remember(_ id: String, _ entity: StateFacts.Entity) {
        if entity == EntityLookup.active { activeIDs.set(id, 0) } else { others[id] = entity }
    }

    /// The entity named by the row's text column `column`.
    @inline(__always) package func find(_ row: Cursor, _ column: Int32) throws -> StateFacts.Entity? {
        if activeIDs.value(row, column) != nil { return EntityLookup.active }
        return try find(row.string(column))
    }

    package func find(_ id: String) throws -> StateFacts.Entity? {
        if activeIDs.value(id) != nil { return EntityLookup.active }
        if let entity = others[id] { return entity }
        if preload || missing.contains(id) { return nil }
        var found: StateFacts.Entity?
        try db.forEachCursor(oneSQL, [.text(id)]) { row in found = try entity(row) }
        if let found { remember(id, found) } else { missing.insert(id) }
        return found
    }
}

/// Which derived states hold for a token: bit i for `DerivedState.allCases[i]`.
package typealias StateMask = UInt32

/// The registered systems by id, as `unaccountable` reads them: each with its policy and platform owners' status.
package struct SystemLookup {
    private var index = IDMap()
    private var systems: [StateFacts.System] = []

    package init(_ db: Database) throws {
        try db.forEachCursor("""
            SELECT s.id, po.status, po.departed_at, pl.status, pl.departed_at
            FROM systems s LEFT JOIN owners po ON po.id = s.policy_owner LEFT JOIN owners pl ON pl.id = s.platform_owner
            """) { row in
            func entity(_ status: Int32) -> StateFacts.Entity? {
                row.isNull(status) ? nil : StateFacts.Entity(status: row.string(status), since: row.int(status + 1))
            }
            index.set(row.string(0), systems.count)
            systems.append(StateFacts.System(policyOwner: entity(1), platformOwner: entity(3)))
        }
    }

    /// The system named by the row's text column `column` (nil: not registered).
    @inline(__always) package func find(_ row: Cursor, _ column: Int32) -> StateFacts.System? {
        index.value(row, column).map { systems[$0] }
    }
}

/// Ids to integers, found from a String or straight from a row's text column: ids of up to 15 bytes (nearly
/// all) in a `ShortIDMap`, longer ones in a dictionary.
package struct IDMap: Sendable {
    private var short = ShortIDMap()
    private var long: [String: Int] = [:]

    package init() {}

    package mutating func set(_ id: String, _ value: Int) {
        var id = id
        if !id.withUTF8({ short.insert(UnsafeRawBufferPointer($0), value: value) }) { long[id] = value }
    }

    package func value(_ id: String) -> Int? {
        var id = id
        return id.utf8.count <= 15 ? id.withUTF8 { short.value(UnsafeRawBufferPointer($0)) } : long[id]
    }

    /// The value of the id in the row's text column `column` (nil for NULL), without making a String of a short id.
    @inline(__always) package func value(_ row: Cursor, _ column: Int32) -> Int? {
        var isLong = false
        let found = row.withBytes(column) { bytes -> Int? in
            isLong = bytes.count > 15
            return isLong ? nil : short.value(bytes)
        } ?? nil
        return isLong ? long[row.string(column)] : found
    }
}

/// A map from ids of at most 15 bytes, each packed with its length into two words, to an integer. A probe is a
/// multiply and two compares on words read straight from the bytes; a `Set<String>` probe makes a String and
/// hashes it with SipHash (the owner and agent probes were the largest Swift cost of a million-token scan: 14% of
/// `report offboarding`).
package struct ShortIDMap: Sendable {
    /// Two words a slot, the key's; the values apart, so a map used as a set (`contains`) touches only the keys
    /// (with the value beside them, the agents' table grew by half and `check` slowed by a tenth at 1M).
    private var words: [UInt64] = Array(repeating: 0, count: 2 * 16)
    private var values: [Int] = []
    private var count = 0
    private var capacity: Int { words.count / 2 }

    package static func key(_ bytes: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        guard !bytes.isEmpty, bytes.count <= 15 else { return nil }
        // Copied into two zeroed words; the 16th byte (never written: at most 15) carries the length.
        var words: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: bytes) }
        return (words.0, words.1 | UInt64(bytes.count) << 56)
    }

    private func slot(_ a: UInt64, _ b: UInt64) -> Int {
        // Both words mixed into every bit, then the top bits (multiplicative hashing): ids that share a prefix
        // ("agent-0", "agent-1") must not share a neighbourhood of the table.
        var h = (a &* 0x9E37_79B9_7F4A_7C15) &+ b
        h = (h ^ (h >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h >> 32) & (capacity - 1)
    }

    /// Sets the id's value (0 when the map serves as a set); false when the id is too long for the map (`IDMap`
    /// keeps those elsewhere).
    package mutating func insert(_ bytes: UnsafeRawBufferPointer, value: Int = 0) -> Bool {
        guard let (a, b) = ShortIDMap.key(bytes) else { return false }
        if (count + 1) * 2 > capacity { grow() }
        add(a, b, value)
        return true
    }

    private mutating func add(_ a: UInt64, _ b: UInt64, _ value: Int) {
        let mask = capacity - 1
        var i = slot(a, b)
        // b is never 0 for a key (it holds the length), so 0 marks an empty slot.
        while words[2 * i + 1] != 0 {
            if words[2 * i] == a && words[2 * i + 1] == b { break }
            i = (i + 1) & mask
        }
        if words[2 * i + 1] == 0 { count += 1 }
        words[2 * i] = a
        words[2 * i + 1] = b
        if value != 0 || !values.isEmpty {
            if values.isEmpty { values = Array(repeating: 0, count: capacity) }
            values[i] = value
        }
    }

    private mutating func grow() {
        let (oldWords, oldValues) = (words, values)
        words = Array(repeating: 0, count: oldWords.count * 2)
        values = oldValues.isEmpty ? [] : Array(repeating: 0, count: capacity)
        count = 0
        for i in 0..<(oldWords.count / 2) where oldWords[2 * i + 1] != 0 {
            add(oldWords[2 * i], oldWords[2 * i + 1], oldValues.isEmpty ? 0 : oldValues[i])
        }
    }

    /// The id's slot, or nil when it is not in the map (or too long for it).
    private func find(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let (a, b) = ShortIDMap.key(bytes) else { return nil }
        let mask = capacity - 1
        var i = slot(a, b)
        while words[2 * i + 1] != 0 {
            if words[2 * i] == a && words[2 * i + 1] == b { return i }
            i = (i + 1) & mask
        }
        return nil
    }

    /// The id's value, or nil when it is not in the map.
    package func value(_ bytes: UnsafeRawBufferPointer) -> Int? {
        find(bytes).map { values.isEmpty ? 0 : values[$0] }
    }

    package func contains(_ bytes: UnsafeRawBufferPointer) -> Bool { find(bytes) != nil }
}

extension Token {
    /// A token from a state scan's row; the fields its layout does not select are left empty.
    package init(cursor row: Cursor, columns c: ColumnLayout<TokenColumn>) {
        self.init(id: row.string(c[.id]), ownerID: row.string(c[.ownerID]), purpose: "", system: row.string(c[.system]),
                  agentID: row.string(c[.agentID]), environment: row.text(c[.environment]), scopes: [],
                  issuedAt: row.int(c[.issuedAt]) ?? 0, expiresAt: row.int(c[.expiresAt]),
                  rotateEvery: row.int(c[.rotateEvery]) ?? Token.defaultRotateEvery, lastRotatedAt: row.int(c[.lastRotatedAt]),
                  reviewEvery: row.int(c[.reviewEvery]) ?? Token.defaultReviewEvery, lastReviewedAt: row.int(c[.lastReviewedAt]),
                  fingerprint: nil, labels: [:], status: row.string(c[.status]), lastUsedAt: row.int(c[.lastUsedAt]),
                  createdAt: 0, updatedAt: 0)
        guard c.contains(.purpose) else { return }
        purpose = row.string(c[.purpose])
        scopes = Token.decodeScopes(row.string(c[.scopes]))
        fingerprint = row.text(c[.fingerprint])
        labels = Token.decodeLabels(row.string(c[.labels]))
        revokedAt = row.int(c[.revokedAt])
        revokeReason = row.text(c[.revokeReason])
        createdAt = row.int(c[.createdAt]) ?? 0
        updatedAt = row.int(c[.updatedAt]) ?? 0
        issuer = row.text(c[.issuer])
    }
}
