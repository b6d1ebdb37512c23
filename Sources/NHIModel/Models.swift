import NHIBasics
import NHIFormats
import NHIStore

/// An accountable person.
public struct Owner: Sendable, Equatable {
    public var id: String
    public var name: String
    public var email: String
    public var team: String?
    public var status: String
    public var departedAt: Instant?
    public var createdAt: Instant
    public var updatedAt: Instant

    public static let columns = [Column("id"), Column("name"), Column("email"), Column("team"), Column("status"),
                                 Column("departed_at", "DEPARTED")]

    package init(row: Row) throws(DatabaseError) {
        func text(_ c: OwnerColumn) throws(DatabaseError) -> String? { try row.text(c.name) }
        func int(_ c: OwnerColumn) throws(DatabaseError) -> Int64? { try row.int(c.name) }
        id = try text(.id) ?? ""; name = try text(.name) ?? ""; email = try text(.email) ?? ""; team = try text(.team)
        status = try text(.status) ?? ""; departedAt = try int(.departedAt)
        createdAt = try int(.createdAt) ?? 0; updatedAt = try int(.updatedAt) ?? 0
    }

    public init(id: String, name: String, email: String, team: String?, status: String = "active",
                departedAt: Instant? = nil, createdAt: Instant, updatedAt: Instant) {
        self.id = id; self.name = name; self.email = email; self.team = team; self.status = status
        self.departedAt = departedAt; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    public var record: JSONObject {
        [
            "kind": "owner", "id": .string(id), "name": .string(name), "email": .string(email),
            "team": team.map(JSON.string) ?? .null, "status": .string(status),
            "departed_at": JSON.instant(departedAt), "created_at": JSON.instant(createdAt),
            "updated_at": JSON.instant(updatedAt),
        ]
    }

    /// What the audit log keeps of an owner: every stored column.
    public var snapshot: JSON { .object(record) }
}

/// A workload (an AI agent) that tokens are bound to.
public struct Agent: Sendable, Equatable {
    public var id: String
    public var system: String
    public var ownerID: String
    public var status: String
    public var decommissionedAt: Instant?
    public var createdAt: Instant
    public var updatedAt: Instant
    /// `autonomous` (the default) or `human-triggered`: whether a person's use of its tokens is expected
    /// (human-use, OWASP NHI10).
    public var mode: String

    public static let modes = ["autonomous", "human-triggered"]
    public static let defaultMode = "autonomous"

    public static let columns = [Column("id"), Column("system"), Column("owner"), Column("mode"), Column("status"),
                                 Column("decommissioned_at", "DECOMMISSIONED")]

    package init(row: Row) throws(DatabaseError) {
        func text(_ c: AgentColumn) throws(DatabaseError) -> String? { try row.text(c.name) }
        func int(_ c: AgentColumn) throws(DatabaseError) -> Int64? { try row.int(c.name) }
        id = try text(.id) ?? ""; system = try text(.system) ?? ""; ownerID = try text(.ownerID) ?? ""
        status = try text(.status) ?? ""; decommissionedAt = try int(.decommissionedAt)
        createdAt = try int(.createdAt) ?? 0; updatedAt = try int(.updatedAt) ?? 0
        mode = try text(.mode) ?? Agent.defaultMode
    }

    public init(id: String, system: String, ownerID: String, status: String = "active", decommissionedAt: Instant? = nil,
                createdAt: Instant, updatedAt: Instant, mode: String = Agent.defaultMode) {
        self.id = id; self.system = system; self.ownerID = ownerID; self.status = status
        self.decommissionedAt = decommissionedAt; self.createdAt = createdAt; self.updatedAt = updatedAt
        self.mode = mode
    }

    public var record: JSONObject {
        [
            "kind": "agent", "id": .string(id), "system": .string(system), "owner": .string(ownerID),
            "mode": .string(mode), "status": .string(status), "decommissioned_at": JSON.instant(decommissionedAt),
            "created_at": JSON.instant(createdAt), "updated_at": JSON.instant(updatedAt),
        ]
    }

    public var snapshot: JSON { .object(record) }
}

/// A credential, recorded by identifier and at most a SHA-256 fingerprint of its value.
public struct Token: Sendable, Equatable {
    public var id: String
    public var ownerID: String
    public var purpose: String
    public var system: String
    public var agentID: String
    public var environment: String?
    public var scopes: [String]
    public var issuedAt: Instant
    /// nil means `never`, which the user must have written out.
    public var expiresAt: Instant?
    public var rotateEvery: Int64
    public var lastRotatedAt: Instant?
    public var reviewEvery: Int64
    public var lastReviewedAt: Instant?
    public var fingerprint: String?
    public var labels: [String: String]
    public var status: String
    public var revokedAt: Instant?
    public var revokeReason: String?
    public var lastUsedAt: Instant?
    public var createdAt: Instant
    public var updatedAt: Instant
    /// The registered system (a gateway or broker) that minted the token; nil when not recorded.
    public var issuer: String?

    public static let defaultRotateEvery: Int64 = 90 * 86_400
    public static let defaultReviewEvery: Int64 = 90 * 86_400

    public static let columns = [Column("id"), Column("owner"), Column("system"), Column("agent"),
                                 Column("environment", "ENV"), Column("status"), Column("expires_at", "EXPIRES"),
                                 Column("rotate_every", "ROTATE"), Column("purpose")]

    // Inlinable: the state scan (NHIRules) builds a token per chosen row through it.
    @inlinable
    public init(id: String, ownerID: String, purpose: String, system: String, agentID: String, environment: String?,
                scopes: [String], issuedAt: Instant, expiresAt: Instant?, rotateEvery: Int64, lastRotatedAt: Instant?,
                reviewEvery: Int64, lastReviewedAt: Instant?, fingerprint: String?, labels: [String: String],
                status: String = "active", revokedAt: Instant? = nil, revokeReason: String? = nil,
                lastUsedAt: Instant? = nil, createdAt: Instant, updatedAt: Instant, issuer: String? = nil) {
        self.issuer = issuer
        self.id = id; self.ownerID = ownerID; self.purpose = purpose; self.system = system; self.agentID = agentID
        self.environment = environment; self.scopes = scopes; self.issuedAt = issuedAt; self.expiresAt = expiresAt
        self.rotateEvery = rotateEvery; self.lastRotatedAt = lastRotatedAt; self.reviewEvery = reviewEvery
        self.lastReviewedAt = lastReviewedAt; self.fingerprint = fingerprint; self.labels = labels
        self.status = status; self.revokedAt = revokedAt; self.revokeReason = revokeReason
        self.lastUsedAt = lastUsedAt; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    package init(row: Row) throws(DatabaseError) {
        func text(_ c: TokenColumn) throws(DatabaseError) -> String? { try row.text(c.name) }
        func int(_ c: TokenColumn) throws(DatabaseError) -> Int64? { try row.int(c.name) }
        id = try text(.id) ?? ""; ownerID = try text(.ownerID) ?? ""; purpose = try text(.purpose) ?? ""
        system = try text(.system) ?? ""; agentID = try text(.agentID) ?? ""; environment = try text(.environment)
        scopes = Token.decodeScopes(try text(.scopes) ?? "")
        issuedAt = try int(.issuedAt) ?? 0; expiresAt = try int(.expiresAt)
        rotateEvery = try int(.rotateEvery) ?? Token.defaultRotateEvery; lastRotatedAt = try int(.lastRotatedAt)
        reviewEvery = try int(.reviewEvery) ?? Token.defaultReviewEvery; lastReviewedAt = try int(.lastReviewedAt)
        fingerprint = try text(.fingerprint)
        labels = Token.decodeLabels(try text(.labels) ?? "")
        status = try text(.status) ?? ""; revokedAt = try int(.revokedAt); revokeReason = try text(.revokeReason)
        lastUsedAt = try int(.lastUsedAt); createdAt = try int(.createdAt) ?? 0; updatedAt = try int(.updatedAt) ?? 0
        issuer = try text(.issuer)
    }

    /// Scopes as stored: comma-joined.
    package static func decodeScopes(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ",").map(String.init)
    }

    package static func decodeLabels(_ text: String) -> [String: String] {
        if text.isEmpty || text == "{}" { return [:] }
        guard let object = (try? JSONParser.parse(text))?.objectValue else { return [:] }
        var labels: [String: String] = [:]
        for key in object.keys { labels[key] = object[key]?.stringValue ?? "" }
        return labels
    }

    /// Labels as stored: a JSON object with sorted keys, so equal label sets are equal text.
    package static func encodeLabels(_ labels: [String: String]) -> String {
        JSON.object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) })).serialized()
    }

    public var record: JSONObject { fields(withLastUse: true) }

    /// The record's fields, in the declaration's order; `snapshot` leaves `last_used_at` out.
    package func fields(withLastUse: Bool) -> JSONObject {
        var object: JSONObject = ["kind": "token"]
        for column in TokenColumn.allCases where withLastUse || column != .lastUsedAt {
            object[column.field] = fieldValue(column)
        }
        return object
    }

    /// How the record (export, JSON output, audit snapshot) shows `column`.
    package func fieldValue(_ column: TokenColumn) -> JSON {
        switch column {
        case .id: .string(id)
        case .ownerID: .string(ownerID)
        case .purpose: .string(purpose)
        case .system: .string(system)
        case .agentID: .string(agentID)
        case .environment: environment.map(JSON.string) ?? .null
        case .scopes: .array(scopes.map(JSON.string))
        case .issuedAt: JSON.instant(issuedAt)
        case .expiresAt: expiresAt.map { JSON.string(Time.iso($0)) } ?? "never"
        case .rotateEvery: .string(Duration.format(rotateEvery))
        case .lastRotatedAt: JSON.instant(lastRotatedAt)
        case .reviewEvery: .string(Duration.format(reviewEvery))
        case .lastReviewedAt: JSON.instant(lastReviewedAt)
        case .fingerprint: fingerprint.map(JSON.string) ?? .null
        case .labels: .object(JSONObject(labels.sorted { $0.key < $1.key }.map { ($0.key, JSON.string($0.value)) }))
        case .status: .string(status)
        case .revokedAt: JSON.instant(revokedAt)
        case .revokeReason: revokeReason.map(JSON.string) ?? .null
        case .lastUsedAt: JSON.instant(lastUsedAt)
        case .createdAt: JSON.instant(createdAt)
        case .updatedAt: JSON.instant(updatedAt)
        case .issuer: issuer.map(JSON.string) ?? .null
        }
    }

    /// What the audit log keeps: every stored column except `last_used_at`, which usage records move without an
    /// audit entry each (usage has its own log).
    public var snapshot: JSON { .object(fields(withLastUse: false)) }
}

/// A review (an attestation): its row in `reviews` and the record its audit entry keeps as `after`, defined once
/// so `audit verify` compares the row with what was recorded.
public struct ReviewRow: Sendable, Equatable {
    public let id: Int64
    public let tokenID: String
    public let decision: String
    public let note: String?
    public let actor: String
    public let at: Instant

    public init(id: Int64, tokenID: String, decision: String, note: String?, actor: String, at: Instant) {
        self.id = id; self.tokenID = tokenID; self.decision = decision; self.note = note; self.actor = actor; self.at = at
    }

    package init(row: Row) throws(DatabaseError) {
        self.init(id: try row.int("id") ?? 0, tokenID: try row.string("token_id"), decision: try row.string("decision"),
                  note: try row.text("note"), actor: try row.string("actor"), at: try row.int("at") ?? 0)
    }

    public var record: JSONObject {
        ["id": .int(id), "token": .string(tokenID), "decision": .string(decision),
         "note": note.map(JSON.string) ?? .null, "actor": .string(actor), "at": JSON.instant(at)]
    }
}

extension JSON {
    /// Instants in machine formats: ISO 8601 UTC, or null.
    public static func instant(_ t: Instant?) -> JSON { t.map { .string(Time.iso($0)) } ?? .null }
}

extension Owner {
    /// The value stored in `column` (what INSERT writes and history keeps).
    package func storedValue(_ column: OwnerColumn) -> SQLValue {
        switch column {
        case .id: .text(id)
        case .name: .text(name)
        case .email: .text(email)
        case .team: team.sql
        case .status: .text(status)
        case .departedAt: departedAt.sql
        case .createdAt: .int(createdAt)
        case .updatedAt: .int(updatedAt)
        }
    }

    /// Every stored column's value, in the declaration's order.
    package var storedValues: [SQLValue] { OwnerColumn.allCases.map(storedValue) }
}

extension Agent {
    /// The value stored in `column` (what INSERT writes and history keeps).
    package func storedValue(_ column: AgentColumn) -> SQLValue {
        switch column {
        case .id: .text(id)
        case .system: .text(system)
        case .ownerID: .text(ownerID)
        case .status: .text(status)
        case .decommissionedAt: decommissionedAt.sql
        case .createdAt: .int(createdAt)
        case .updatedAt: .int(updatedAt)
        case .mode: .text(mode)
        }
    }

    /// Every stored column's value, in the declaration's order.
    package var storedValues: [SQLValue] { AgentColumn.allCases.map(storedValue) }
}

extension Token {
    /// The value stored in `column` (what INSERT and UPDATE write).
    package func storedValue(_ column: TokenColumn) -> SQLValue {
        switch column {
        case .id: .text(id)
        case .ownerID: .text(ownerID)
        case .purpose: .text(purpose)
        case .system: .text(system)
        case .agentID: .text(agentID)
        case .environment: environment.sql
        case .scopes: .text(scopes.joined(separator: ","))
        case .issuedAt: .int(issuedAt)
        case .expiresAt: expiresAt.sql
        case .rotateEvery: .int(rotateEvery)
        case .lastRotatedAt: lastRotatedAt.sql
        case .reviewEvery: .int(reviewEvery)
        case .lastReviewedAt: lastReviewedAt.sql
        case .fingerprint: fingerprint.sql
        case .labels: .text(labels.isEmpty ? "{}" : Token.encodeLabels(labels))
        case .status: .text(status)
        case .revokedAt: revokedAt.sql
        case .revokeReason: revokeReason.sql
        case .lastUsedAt: lastUsedAt.sql
        case .createdAt: .int(createdAt)
        case .updatedAt: .int(updatedAt)
        case .issuer: issuer.sql
        }
    }

    /// Every stored column's value, in the declaration's order.
    package var storedValues: [SQLValue] { TokenColumn.allCases.map(storedValue) }
}

