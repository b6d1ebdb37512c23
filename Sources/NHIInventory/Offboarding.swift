import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit

/// Reviews and offboarding: the writes that end or extend a credential's life. Each runs inside the caller's
/// one write transaction, and every row it changes is audited (through `Registry.save`/`AuditLog.append`).
public enum Offboarding {
    /// What an offboarding changed, for the command's message.
    public struct Outcome: Sendable, Equatable {
        public var revoked: [String] = []
        public var transferredTokens: [String] = []
        public var transferredAgents: [String] = []
        /// Active tokens and agents left to the departed owner: they now show as orphaned.
        public var leftTokens: Int = 0
        public var leftAgents: Int = 0
    }

    /// Decommissions an agent and revokes every active token bound to it.
    public static func decommissionAgent(_ db: Database, id: String, audit: AuditContext) throws -> Outcome {
        let before = try Registry.requireAgent(db, id)
        guard before.status == "active" else {
            throw NHIError.data("agent '\(id)' is already decommissioned (see: nhi report offboarding --agent \(id))")
        }
        var agent = before
        agent.status = "decommissioned"
        agent.decommissionedAt = audit.at
        agent.updatedAt = audit.at
        try Registry.save(db, agent, before: before, action: "agent.decommission", audit: audit)
        var outcome = Outcome()
        try Registry.forEachToken(db, .init(agent: id, status: "active")) { outcome.revoked.append($0.id) }
        for token in outcome.revoked {
            try Registry.revoke(db, id: token, reason: "agent \(id) decommissioned", audit: audit)
        }
        return outcome
    }

    /// Marks an owner departed; with `transferTo`, their active tokens and agents move to that (active) owner,
    /// otherwise they stay and show as orphaned until someone acts on them.
    public static func departOwner(_ db: Database, id: String, transferTo: String?, audit: AuditContext) throws -> Outcome {
        let before = try Registry.requireOwner(db, id)
        // An owner who departed without a transfer can still hand over what they left (check's remedy says so).
        let alreadyDeparted = before.status != "active"
        guard !alreadyDeparted || transferTo != nil else {
            throw NHIError.data("owner '\(id)' has already departed; hand over what they left with: nhi offboard owner \(id) --transfer-to OWNER (see: nhi report offboarding --owner \(id))")
        }
        var outcome = Outcome()
        var tokens: [Token] = []
        try Registry.forEachToken(db, .init(owner: id, status: "active")) { tokens.append($0) }
        let agents = try Registry.agents(db, owner: id, status: "active")
        if let transferTo {
            guard transferTo != id else { throw NHIError.data("--transfer-to names the departing owner '\(id)'; name another owner") }
            let heir = try Registry.requireOwner(db, transferTo)
            guard heir.status == "active" else { throw NHIError.data("--transfer-to: owner '\(transferTo)' has departed; name an active owner") }
            for old in agents {
                var agent = old
                agent.ownerID = transferTo
                agent.updatedAt = audit.at
                try Registry.save(db, agent, before: old, action: "agent.transfer", audit: audit)
                outcome.transferredAgents.append(agent.id)
            }
            for old in tokens {
                var token = old
                token.ownerID = transferTo
                token.updatedAt = audit.at
                try Registry.save(db, token, before: old, action: "token.transfer", audit: audit)
                outcome.transferredTokens.append(token.id)
            }
        } else {
            outcome.leftTokens = tokens.count
            outcome.leftAgents = agents.count
        }
        if alreadyDeparted {
            guard !outcome.transferredAgents.isEmpty || !outcome.transferredTokens.isEmpty else {
                throw NHIError.data("owner '\(id)' has departed and left no active agent or token to transfer")
            }
            return outcome
        }
        var owner = before
        owner.status = "departed"
        owner.departedAt = audit.at
        owner.updatedAt = audit.at
        try Registry.save(db, owner, before: before, action: "owner.depart", audit: audit)
        return outcome
    }
}

/// Reviews: an actor's attestation that a token is still needed (keep) or not (revoke). Kept as history in
/// `reviews`; keep moves the review clock (`last_reviewed_at`), revoke revokes the token.
public enum Reviews {
    public enum Decision: String, Sendable, CaseIterable { case keep, revoke }

    public typealias Review = ReviewRow

    public static func record(_ db: Database, tokenID: String, decision: Decision, note: String?, audit: AuditContext) throws -> Token {
        let before = try Registry.requireToken(db, tokenID)
        guard before.status == "active" else {
            throw NHIError.data("token '\(tokenID)' is revoked; only active tokens are reviewed")
        }
        try db.execute("INSERT INTO reviews (token_id, decision, note, actor, at) VALUES (?, ?, ?, ?, ?)",
                       [.text(tokenID), .text(decision.rawValue), note.sql, .text(audit.actor), .int(audit.at)])
        let review = Review(id: db.lastInsertRowID, tokenID: tokenID, decision: decision.rawValue, note: note,
                            actor: audit.actor, at: audit.at)
        try AuditLog.append(db, audit, action: "review.\(decision.rawValue)", entityKind: "review", entityID: String(review.id),
                            before: nil, after: .object(review.record))
        switch decision {
        case .keep:
            var token = before
            token.lastReviewedAt = audit.at
            token.updatedAt = audit.at
            try Registry.save(db, token, before: before, action: "token.review", audit: audit)
        case .revoke:
            try Registry.revoke(db, id: tokenID, reason: "revoked at review" + (note.map { ": \($0.prefix(200))" } ?? ""), audit: audit)
        }
        return try Registry.requireToken(db, tokenID)
    }

    /// A token's reviews, newest first.
    public static func history(_ db: Database, tokenID: String) throws -> [Review] {
        try db.rows("SELECT * FROM reviews WHERE token_id = ? ORDER BY at DESC, id DESC", [.text(tokenID)]).map { row in
            try Review(row: row)
        }
    }
}
