import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit

/// Changes owners, agents and tokens. Every change runs inside the caller's write transaction and appends its
/// audit entry there, so the change and its record commit together or not at all.
extension Registry {
    // MARK: Owners and agents

    public static func addOwner(_ db: Database, _ owner: Owner, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try addOwner(db, owner, audit: audit, head: &head)
    }

    /// Adds an owner, chaining its audit entry on `head` (bulk writes read the head once).
    public static func addOwner(_ db: Database, _ owner: Owner, audit: AuditContext, head: inout AuditLog.Head) throws {
        if try self.owner(db, owner.id) != nil {
            throw NHIError.data("owner '\(owner.id)' already exists (see: nhi owner show \(owner.id))").on("id")
        }
        try insert(db, owner)
        try AuditLog.append(db, audit, action: "owner.add", entityKind: "owner", entityID: owner.id,
                            beforeText: nil, afterText: owner.snapshotText, head: &head)
    }

    /// Its column list is the declaration's (`OwnerColumn`, held equal by a test), as are the values'.
    package static let insertOwnerSQL: StaticString = """
        INSERT INTO owners (id, name, email, team, status, departed_at, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """

    package static func insert(_ db: Database, _ owner: Owner) throws {
        try db.execute(literal: insertOwnerSQL, owner.storedValues)
    }

    public static func addAgent(_ db: Database, _ agent: Agent, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try addAgent(db, agent, audit: audit, head: &head)
    }

    /// Adds an agent. `asRecorded` (import) records an existing fact: an agent of a departed owner may be
    /// recorded as it is, where a new binding (`agent add`) needs an active owner.
    public static func addAgent(_ db: Database, _ agent: Agent, audit: AuditContext, head: inout AuditLog.Head,
                                asRecorded: Bool = false) throws {
        if try self.agent(db, agent.id) != nil {
            throw NHIError.data("agent '\(agent.id)' already exists (see: nhi agent show \(agent.id))").on("id")
        }
        let owner: Owner
        do { owner = try requireOwner(db, agent.ownerID) } catch let error as NHIError { throw error.on("owner") }
        if owner.status != "active" && !asRecorded {
            throw NHIError.data("owner '\(owner.id)' has departed; bind the agent to an active owner").on("owner")
        }
        try insert(db, agent)
        try AuditLog.append(db, audit, action: "agent.add", entityKind: "agent", entityID: agent.id,
                            beforeText: nil, afterText: agent.snapshotText, head: &head)
    }

    /// Its column list is the declaration's (`AgentColumn`, held equal by a test), as are the values'.
    package static let insertAgentSQL: StaticString = """
        INSERT INTO agents (id, system, owner_id, status, decommissioned_at, created_at, updated_at, mode)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """

    package static func insert(_ db: Database, _ agent: Agent) throws {
        try db.execute(literal: insertAgentSQL, agent.storedValues)
    }

    /// Writes an owner's changed state and its audit entry.
    public static func save(_ db: Database, _ owner: Owner, before: Owner, action: String, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try save(db, owner, before: before, action: action, audit: audit, head: &head)
    }

    public static func save(_ db: Database, _ owner: Owner, before: Owner, action: String, audit: AuditContext,
                            head: inout AuditLog.Head) throws {
        try History.close(db, kind: "owner", id: owner.id, before: before.storedValues, endedBySeq: head.seq + 1, at: audit.at)
        try db.execute("""
            UPDATE owners SET name = ?, email = ?, team = ?, status = ?, departed_at = ?, updated_at = ? WHERE id = ?
            """, [.text(owner.name), .text(owner.email), owner.team.sql, .text(owner.status), owner.departedAt.sql,
                  .int(owner.updatedAt), .text(owner.id)])
        try AuditLog.append(db, audit, action: action, entityKind: "owner", entityID: owner.id,
                            beforeText: before.snapshotText, afterText: owner.snapshotText, head: &head)
    }

    public static func save(_ db: Database, _ agent: Agent, before: Agent, action: String, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try save(db, agent, before: before, action: action, audit: audit, head: &head)
    }

    /// Writes an agent's changed state; its owner must exist (import may move an agent to another owner).
    public static func save(_ db: Database, _ agent: Agent, before: Agent, action: String, audit: AuditContext,
                            head: inout AuditLog.Head) throws {
        if agent.ownerID != before.ownerID {
            do { _ = try requireOwner(db, agent.ownerID) } catch let error as NHIError { throw error.on("owner") }
        }
        try History.close(db, kind: "agent", id: agent.id, before: before.storedValues, endedBySeq: head.seq + 1, at: audit.at)
        try db.execute("""
            UPDATE agents SET system = ?, owner_id = ?, status = ?, decommissioned_at = ?, updated_at = ?, mode = ? WHERE id = ?
            """, [.text(agent.system), .text(agent.ownerID), .text(agent.status), agent.decommissionedAt.sql,
                  .int(agent.updatedAt), .text(agent.mode), .text(agent.id)])
        try AuditLog.append(db, audit, action: action, entityKind: "agent", entityID: agent.id,
                            beforeText: before.snapshotText, afterText: agent.snapshotText, head: &head)
    }

    // MARK: Bulk inserts (import)

    /// Whether the connection enforces foreign keys (the store turns them on; the `IfNew` inserts rely on them).
    public static func enforcesForeignKeys(_ db: Database) throws -> Bool {
        // PostgreSQL always enforces them.
        try db.dialect == .postgres || db.scalar("PRAGMA foreign_keys").int == 1
    }

    /// Runs `insert` when the store's own constraints decide what the lookups before an insert would: on a
    /// constraint failure (an existing id, an unknown owner or agent, a reused fingerprint) SQLite backs out the one
    /// statement, the transaction goes on, and this returns false so the caller takes the checked path for the
    /// message. Saves the lookups for the new records that are all of a bulk import. Needs foreign keys enforced.
    package static func insertUnlessRefused(_ db: Database, _ insert: () throws -> Void) throws -> Bool {
        do { try db.undoingOnlyThis(insert) } catch let error as DatabaseError where error.isConstraint { return false }
        return true
    }

    /// A new record as an insert-first writes it: its table's row and its audit entry's action and snapshot.
    /// The `IfNew` functions write one at a time; an import on a server writes many at once (`Importer.flush`).
    package struct NewRow {
        /// What every new record of a kind shares.
        package struct Shape: Sendable {
            package let table: String
            package let columns: [String]
            package let entityKind: String
            package let action: String
        }
        package let shape: Shape
        package let id: String
        package let values: [SQLValue]
        package let snapshot: String
    }

    package static let newOwner = NewRow.Shape(table: "owners", columns: OwnerColumn.allCases.map(\.name), entityKind: "owner", action: "owner.add")
    package static let newAgent = NewRow.Shape(table: "agents", columns: AgentColumn.allCases.map(\.name), entityKind: "agent", action: "agent.add")
    package static let newToken = NewRow.Shape(table: "tokens", columns: TokenColumn.allCases.map(\.name), entityKind: "token", action: "token.register")

    package static func newRow(_ owner: Owner) -> NewRow {
        NewRow(shape: newOwner, id: owner.id, values: owner.storedValues, snapshot: owner.snapshotText)
    }

    package static func newRow(_ agent: Agent) -> NewRow {
        NewRow(shape: newAgent, id: agent.id, values: agent.storedValues, snapshot: agent.snapshotText)
    }

    package static func newRow(_ token: Token) -> NewRow {
        NewRow(shape: newToken, id: token.id, values: token.storedValues, snapshot: token.snapshotText)
    }

    /// `addOwner` for an owner whose id is new; false (nothing written) when it is not.
    package static func addOwnerIfNew(_ db: Database, _ owner: Owner, audit: AuditContext, head: inout AuditLog.Head) throws -> Bool {
        guard try insertUnlessRefused(db, { try insert(db, owner) }) else { return false }
        try AuditLog.append(db, audit, action: newOwner.action, entityKind: newOwner.entityKind, entityID: owner.id,
                            beforeText: nil, afterText: owner.snapshotText, head: &head)
        return true
    }

    /// `addAgent(asRecorded: true)` for a new agent of a known owner (the foreign key checks it); false otherwise.
    package static func addRecordedAgentIfNew(_ db: Database, _ agent: Agent, audit: AuditContext, head: inout AuditLog.Head) throws -> Bool {
        guard try insertUnlessRefused(db, { try insert(db, agent) }) else { return false }
        try AuditLog.append(db, audit, action: newAgent.action, entityKind: newAgent.entityKind, entityID: agent.id,
                            beforeText: nil, afterText: agent.snapshotText, head: &head)
        return true
    }

    /// Whether a token may be inserted first and judged by the store's constraints: not one whose expiry is not
    /// after its issue (no constraint says so), nor an active token of a frozen system (as system or issuer).
    package static func mayInsertFirst(_ token: Token, frozen: Set<String>) -> Bool {
        if let expires = token.expiresAt, expires <= token.issuedAt { return false }
        if !frozen.isEmpty && token.status == "active" && (frozen.contains(token.system) || token.issuer.map(frozen.contains) == true) { return false }
        return true
    }

    /// `register(asRecorded: true)` for a new token that `checkReferences` would pass: known owner and agent
    /// (foreign keys), an unused fingerprint (its unique index), expiry after issue (checked here); false otherwise.
    /// A token of a `frozen` system (as system or issuer) takes the checked path, which refuses it by name.
    package static func registerRecordedIfNew(_ db: Database, _ token: Token, audit: AuditContext, head: inout AuditLog.Head,
                                              frozen: Set<String> = []) throws -> Bool {
        guard mayInsertFirst(token, frozen: frozen) else { return false }
        guard try insertUnlessRefused(db, { try insert(db, token) }) else { return false }
        try AuditLog.append(db, audit, action: newToken.action, entityKind: newToken.entityKind, entityID: token.id,
                            beforeText: nil, afterText: token.snapshotText, head: &head)
        return true
    }

    // MARK: Tokens

    /// Checks what a token refers to and what it must not collide with.
    /// Owner and agent must be active when a token is registered or moved to them; an existing orphaned token
    /// can still be changed (e.g. relabelled or revoked) without first fixing its owner.
    /// `asRecorded` (import) records existing facts, so an active token of a departed owner or decommissioned agent
    /// is recorded as it is (and then reported as orphaned) instead of being refused.
    package static func checkReferences(_ db: Database, _ token: Token, before: Token?, asRecorded: Bool = false) throws {
        let owner: Owner
        do { owner = try requireOwner(db, token.ownerID) } catch let error as NHIError { throw error.on("owner") }
        if owner.status != "active" && token.status == "active" && token.ownerID != before?.ownerID && !asRecorded {
            throw NHIError.data("owner '\(owner.id)' has departed; an active token needs an active owner").on("owner")
        }
        let agent: Agent
        do { agent = try requireAgent(db, token.agentID) } catch let error as NHIError { throw error.on("agent") }
        if agent.status != "active" && token.status == "active" && token.agentID != before?.agentID && !asRecorded {
            throw NHIError.data("agent '\(agent.id)' is decommissioned; an active token needs an active agent").on("agent")
        }
        if let expires = token.expiresAt, expires <= token.issuedAt {
            throw NHIError.data("--expires (\(Time.iso(expires))) must be after the issue time (\(Time.iso(token.issuedAt)))").on("expires_at")
        }
        if let issuer = token.issuer, issuer != before?.issuer, try system(db, issuer) == nil {
            throw NHIError.data("unknown issuer '\(Redaction.printable(issuer))': --issuer names a registered system (add it with: nhi system add \(Redaction.printable(issuer)) --policy-owner OWNER --platform-owner OWNER)").on("issuer")
        }
        try admitIssuance(db, token, before: before)
        if let fingerprint = token.fingerprint,
           let other = try db.scalar("SELECT id FROM tokens WHERE fingerprint = ? AND id <> ?",
                                     [.text(fingerprint), .text(token.id)]).text {
            throw NHIError.data("this secret is already registered as token '\(other)': one credential must not be shared between tokens (OWASP NHI9, NHI reuse)").on("fingerprint")
        }
    }

    public static func register(_ db: Database, _ token: Token, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try register(db, token, audit: audit, head: &head)
    }

    public static func register(_ db: Database, _ token: Token, audit: AuditContext, head: inout AuditLog.Head,
                                asRecorded: Bool = false) throws {
        if try self.token(db, token.id) != nil {
            throw NHIError.data("token '\(token.id)' already exists (change it with: nhi token update \(token.id) ...)").on("id")
        }
        try checkReferences(db, token, before: nil, asRecorded: asRecorded)
        try insert(db, token)
        try AuditLog.append(db, audit, action: "token.register", entityKind: "token", entityID: token.id,
                            beforeText: nil, afterText: token.snapshotText, head: &head)
    }

    /// Written as a literal so a bulk import finds its statement by address; its column list is the declaration's
    /// (`TokenColumn`, held equal by a test).
    package static let insertTokenSQL: StaticString = """
        INSERT INTO tokens (id, owner_id, purpose, system, agent_id, environment, scopes, issued_at, expires_at,
            rotate_every, last_rotated_at, review_every, last_reviewed_at, fingerprint, labels, status, revoked_at,
            revoke_reason, last_used_at, created_at, updated_at, issuer)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    package static func insert(_ db: Database, _ token: Token) throws {
        try db.execute(literal: insertTokenSQL, token.storedValues)
    }

    /// Every stored column but the id, set from the declaration's names.
    package static let updateTokenSQL = "UPDATE tokens SET "
        + TokenColumn.allCases.dropFirst().map { "\($0.name) = :\($0.name)" }.joined(separator: ", ")
        + " WHERE id = :id"

    /// Writes a token's changed state (after checking it) and its audit entry.
    public static func save(_ db: Database, _ token: Token, before: Token, action: String, audit: AuditContext) throws {
        var head = try AuditLog.head(db)
        try save(db, token, before: before, action: action, audit: audit, head: &head)
    }

    public static func save(_ db: Database, _ token: Token, before: Token, action: String, audit: AuditContext,
                            head: inout AuditLog.Head, asRecorded: Bool = false) throws {
        try checkReferences(db, token, before: before, asRecorded: asRecorded)
        try History.close(db, kind: "token", id: token.id, before: before.storedValues, endedBySeq: head.seq + 1, at: audit.at)
        try db.execute(updateTokenSQL, .named(Dictionary(uniqueKeysWithValues: TokenColumn.allCases.map {
            ($0.name, token.storedValue($0))
        })))
        try AuditLog.append(db, audit, action: action, entityKind: "token", entityID: token.id,
                            beforeText: before.snapshotText, afterText: token.snapshotText, head: &head)
    }

    /// Revokes an active token (refused when it is already revoked).
    public static func revoke(_ db: Database, id: String, reason: String, audit: AuditContext) throws {
        let before = try Registry.requireToken(db, id)
        guard before.status == "active" else { throw NHIError.data("token '\(id)' is already revoked") }
        var token = before
        token.status = "revoked"
        token.revokedAt = audit.at
        token.revokeReason = reason
        token.updatedAt = audit.at
        try Registry.save(db, token, before: before, action: "token.revoke", audit: audit)
    }
}
