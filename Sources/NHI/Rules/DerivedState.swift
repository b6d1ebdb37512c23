/// The derived states of a token, each defined exactly once, here, as a SQL predicate over the current inventory
/// evaluated at an instant (`--as-of`). Every report, `check`, `scan` and the HTML report read them through
/// `StateQuery`, so they can never disagree.
///
/// In the predicates, `t` is the token row, `o` its owner and `a` its agent (both LEFT JOINed, so an unknown
/// owner or agent is NULL); `?1` is the as-of instant and `?2` the longest allowed time unused (seconds).
public enum DerivedState: String, CaseIterable, Sendable, Comparable {
    case expired
    case orphaned
    case foreignUse = "foreign-use"
    case rotationOverdue = "rotation-overdue"
    case reviewOverdue = "review-overdue"
    case noExpiry = "no-expiry"
    case stale

    /// Only active tokens are in any state: a revoked token needs nothing more.
    static let activeSQL = "t.status = 'active'"

    public var predicate: String {
        switch self {
        case .expired: return "(t.expires_at IS NOT NULL AND t.expires_at < ?1)"
        case .orphaned: return "(o.id IS NULL OR o.status = 'departed' OR a.id IS NULL OR a.status = 'decommissioned')"
        case .rotationOverdue: return "(t.rotation_due_at < ?1)"
        case .reviewOverdue: return "(t.review_due_at < ?1)"
        case .noExpiry: return "(t.expires_at IS NULL)"
        case .foreignUse:
            return "EXISTS (SELECT 1 FROM usage u WHERE u.token_id = t.id AND u.agent_id <> t.agent_id AND u.at <= ?1)"
        case .stale: return "(COALESCE(t.last_used_at, t.issued_at) + ?2 < ?1)"
        }
    }

    /// How urgent a state is: reports sort by it (lower first).
    public var severityRank: Int { DerivedState.allCases.firstIndex(of: self)! }

    public static func < (lhs: DerivedState, rhs: DerivedState) -> Bool { lhs.severityRank < rhs.severityRank }

    /// One line for humans and for SARIF rule help: what the state means and how to fix it.
    public var summary: String {
        switch self {
        case .expired: return "The token is active in the inventory but past its expiry."
        case .orphaned: return "The token's owner is unknown or departed, or its agent is unknown or decommissioned."
        case .foreignUse: return "The token was used by an agent other than the one it is bound to (credential reuse)."
        case .rotationOverdue: return "The token was not rotated within its rotation interval."
        case .reviewOverdue: return "The token was not reviewed within its review interval."
        case .noExpiry: return "The token never expires."
        case .stale: return "The token has not been used for longer than the policy allows."
        }
    }

    public var remedy: String {
        switch self {
        case .expired: return "Revoke it (nhi token revoke ID --reason ...) or, if it was renewed, record the new expiry (nhi token rotate ID --expires DATE)."
        case .orphaned: return "Transfer it to an active owner (nhi token transfer ID --to OWNER) or revoke it; offboarding does both (nhi offboard owner ID --transfer-to ID2)."
        case .foreignUse: return "Find out which agent holds the credential, issue each agent its own token, and rotate this one (nhi token rotate ID --secret-stdin)."
        case .rotationOverdue: return "Rotate the credential at its issuer and record it: nhi token rotate ID --secret-stdin."
        case .reviewOverdue: return "Review it: nhi review ID --decision keep|revoke --note ...."
        case .noExpiry: return "Give it an expiry: nhi token update ID --expires DATE (and at the issuer)."
        case .stale: return "Revoke it if nothing needs it any more: nhi token revoke ID --reason unused."
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
                throw .data("unknown state '\(Validation.printable(item))' (states: \(all.joined(separator: ", ")))")
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
        case .stale:
            let last = t.lastUsedAt.map { "last used \(Time.day($0))" } ?? "never used since issue \(Time.day(t.issuedAt))"
            return "\(last); unused for longer than \(Duration.format(maxUnused))"
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
            return nil
        case .rotationOverdue: return rotationDueAt
        case .reviewOverdue: return reviewDueAt
        case .noExpiry: return t.issuedAt
        case .foreignUse: return foreignUseAt
        case .stale: return (t.lastUsedAt ?? t.issuedAt) + maxUnused
        }
    }

    public var rotationDueAt: Instant { (token.lastRotatedAt ?? token.issuedAt) + token.rotateEvery }
    public var reviewDueAt: Instant { (token.lastReviewedAt ?? token.issuedAt) + token.reviewEvery }
}

/// Evaluates derived states in SQL. The one place that turns `DerivedState.predicate` into queries.
public struct StateQuery {
    public var asOf: Instant
    /// The longest a token may go unused before it is `stale` (policy `max_unused`, default 90d).
    public var maxUnused: Int64 = 90 * 86_400
    /// Which states to look for; a token in none of them is not returned.
    public var states: [DerivedState] = DerivedState.allCases
    /// Extra conditions on `t`, `o`, `a` (constant SQL text with `?3`, `?4`... placeholders) and their values.
    public var extraCondition: String?
    public var extraArguments: [SQLValue] = []
    /// Choose rows as if the states were evaluated this much later (reports "due within 14d": would be in the
    /// state at as-of + lookahead); the per-state flags of each row stay evaluated at `asOf`.
    public var lookahead: Int64 = 0
    /// False: select only the token columns that states, reasons, reports and `check` read (`briefColumns`);
    /// the other `Token` fields (purpose, scopes, labels, fingerprint, revocation, created/updated) are left empty.
    /// At a million tokens, reading and decoding the unused text columns was a third of a report's time.
    public var fullTokens = true

    static let briefColumns = "t.id, t.owner_id, t.agent_id, t.system, t.environment, t.status, t.issued_at, t.expires_at, " +
        "t.rotate_every, t.last_rotated_at, t.review_every, t.last_reviewed_at, t.last_used_at"
    /// The result column of each state's flag, in `DerivedState.allCases` order.
    static let flagColumns = DerivedState.allCases.map { "s_\($0.rawValue)" }

    public init(asOf: Instant, maxUnused: Int64 = 90 * 86_400, states: [DerivedState] = DerivedState.allCases) {
        self.asOf = asOf
        self.maxUnused = maxUnused
        self.states = states
    }

    /// `?2` is always selected (as `max_unused`), so the bound arguments match whichever states are chosen.
    /// The owner and agent joins name their covering indexes (migration 2): without statistics SQLite prefers the
    /// primary-key index, which costs a second seek per token into the table (half the join time at 1M tokens).
    public var sql: String {
        let flags = DerivedState.allCases.map { state in
            states.contains(state) ? "CASE WHEN \(state.predicate) THEN 1 ELSE 0 END AS \"s_\(state.rawValue)\"" : "0 AS \"s_\(state.rawValue)\""
        }
        let foreign = states.contains(.foreignUse)
            ? """
              (SELECT u.agent_id FROM usage u WHERE u.token_id = t.id AND u.agent_id <> t.agent_id AND u.at <= ?1 ORDER BY u.at DESC LIMIT 1) AS foreign_agent,
              (SELECT max(u.at) FROM usage u WHERE u.token_id = t.id AND u.agent_id <> t.agent_id AND u.at <= ?1) AS foreign_at
              """
            : "NULL AS foreign_agent, NULL AS foreign_at"
        // The lookahead instant is bound after the extra arguments; the predicates' `?1` is swapped for it.
        let horizon = "?\(3 + extraArguments.count)"
        let any = states.isEmpty ? "0" : states.map {
            lookahead == 0 ? $0.predicate : $0.predicate.replacing("?1", with: horizon)
        }.joined(separator: " OR ")
        return """
            SELECT \(fullTokens ? "t.*" : StateQuery.briefColumns), ?2 AS max_unused, o.status AS owner_status, o.departed_at AS owner_departed_at,
                   a.status AS agent_status, a.decommissioned_at AS agent_decommissioned_at,
                   \(foreign),
                   \(flags.joined(separator: ",\n       "))
            FROM tokens t LEFT JOIN owners o INDEXED BY owners_state ON o.id = t.owner_id
                 LEFT JOIN agents a INDEXED BY agents_state ON a.id = t.agent_id
            WHERE \(DerivedState.activeSQL) AND (\(any))\(extraCondition.map { " AND (\($0))" } ?? "")
            ORDER BY t.id
            """
    }

    public var arguments: [SQLValue] {
        [.int(asOf), .int(maxUnused)] + extraArguments + (lookahead == 0 ? [] : [.int(asOf + lookahead)])
    }

    /// Streams every active token in at least one of `states`.
    public func forEach(_ db: Database, _ body: (TokenStates) throws -> Void) throws {
        try db.forEachRow(sql, arguments) { row in
            var states: [DerivedState] = []
            for (state, column) in zip(DerivedState.allCases, StateQuery.flagColumns) where row.int(column) == 1 {
                states.append(state)
            }
            try body(TokenStates(token: Token(row: row), ownerStatus: row.text("owner_status"),
                                 ownerDepartedAt: row.int("owner_departed_at"), agentStatus: row.text("agent_status"),
                                 agentDecommissionedAt: row.int("agent_decommissioned_at"),
                                 foreignAgent: row.text("foreign_agent"), foreignUseAt: row.int("foreign_at"),
                                 states: states))
        }
    }

    public func all(_ db: Database) throws -> [TokenStates] {
        var result: [TokenStates] = []
        try forEach(db) { result.append($0) }
        return result
    }
}
