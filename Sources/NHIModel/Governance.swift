import NHIBasics
import NHIFormats
import NHIStore

/// A system as governance records it (SPEC "Governance"): who is accountable for it in each role, whether it is a
/// gateway and which, who administers it on the organisation's behalf, and whether issuance for it is frozen.
public struct GovernedSystem: Sendable, Equatable {
    public static let kinds = ["service", "gateway"]
    public static let gatewayRoles = ["access-broker", "token-exchanger", "policy-enforcement-point"]

    public var id: String
    public var kind: String
    public var gatewayRole: String?
    public var policyOwner: String
    public var platformOwner: String
    public var auditOwner: String?
    public var incidentOwner: String?
    public var managedBy: String?
    public var boundary: String?
    /// Set while issuance is frozen: since when, by whom, why.
    public var frozenAt: Instant?
    public var frozenBy: String?
    public var frozenReason: String?
    public var createdAt: Instant
    public var updatedAt: Instant

    public init(id: String, kind: String = "service", gatewayRole: String? = nil, policyOwner: String, platformOwner: String,
                auditOwner: String? = nil, incidentOwner: String? = nil, managedBy: String? = nil, boundary: String? = nil,
                frozenAt: Instant? = nil, frozenBy: String? = nil, frozenReason: String? = nil,
                createdAt: Instant, updatedAt: Instant) {
        self.id = id; self.kind = kind; self.gatewayRole = gatewayRole; self.policyOwner = policyOwner
        self.platformOwner = platformOwner; self.auditOwner = auditOwner; self.incidentOwner = incidentOwner
        self.managedBy = managedBy; self.boundary = boundary; self.frozenAt = frozenAt; self.frozenBy = frozenBy
        self.frozenReason = frozenReason; self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    package init(row: Row) throws(DatabaseError) {
        func text(_ c: SystemColumn) throws(DatabaseError) -> String? { try row.text(c.name) }
        func int(_ c: SystemColumn) throws(DatabaseError) -> Int64? { try row.int(c.name) }
        id = try text(.id) ?? ""; kind = try text(.kind) ?? "service"; gatewayRole = try text(.gatewayRole)
        policyOwner = try text(.policyOwner) ?? ""; platformOwner = try text(.platformOwner) ?? ""
        auditOwner = try text(.auditOwner); incidentOwner = try text(.incidentOwner)
        managedBy = try text(.managedBy); boundary = try text(.boundary)
        frozenAt = try int(.frozenAt); frozenBy = try text(.frozenBy); frozenReason = try text(.frozenReason)
        createdAt = try int(.createdAt) ?? 0; updatedAt = try int(.updatedAt) ?? 0
    }

    public var frozen: Bool { frozenAt != nil }

    /// The owner named in a role column (nil when the role is unset).
    public func owner(_ role: SystemColumn) -> String? {
        switch role {
        case .policyOwner: policyOwner
        case .platformOwner: platformOwner
        case .auditOwner: auditOwner
        case .incidentOwner: incidentOwner
        default: nil
        }
    }

    public static let columns = [Column("id"), Column("system_kind", "KIND"), Column("gateway_role", "GATEWAY ROLE"),
                                 Column("policy_owner", "POLICY"), Column("platform_owner", "PLATFORM"),
                                 Column("audit_owner", "AUDIT"), Column("incident_owner", "INCIDENT"),
                                 Column("managed_by", "MANAGED BY"), Column("frozen_at", "FROZEN")]

    /// The record's fields, in the declaration's order (export, JSON output, audit snapshot).
    public var record: JSONObject {
        var object: JSONObject = ["kind": "system"]
        for column in SystemColumn.allCases { object[column.field] = fieldValue(column) }
        return object
    }

    package func fieldValue(_ column: SystemColumn) -> JSON {
        func text(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        switch column {
        case .id: return .string(id)
        case .kind: return .string(kind)
        case .gatewayRole: return text(gatewayRole)
        case .policyOwner: return .string(policyOwner)
        case .platformOwner: return .string(platformOwner)
        case .auditOwner: return text(auditOwner)
        case .incidentOwner: return text(incidentOwner)
        case .managedBy: return text(managedBy)
        case .boundary: return text(boundary)
        case .frozenAt: return JSON.instant(frozenAt)
        case .frozenBy: return text(frozenBy)
        case .frozenReason: return text(frozenReason)
        case .createdAt: return JSON.instant(createdAt)
        case .updatedAt: return JSON.instant(updatedAt)
        }
    }

    package func storedValue(_ column: SystemColumn) -> SQLValue {
        switch column {
        case .id: .text(id)
        case .kind: .text(kind)
        case .gatewayRole: gatewayRole.sql
        case .policyOwner: .text(policyOwner)
        case .platformOwner: .text(platformOwner)
        case .auditOwner: auditOwner.sql
        case .incidentOwner: incidentOwner.sql
        case .managedBy: managedBy.sql
        case .boundary: boundary.sql
        case .frozenAt: frozenAt.sql
        case .frozenBy: frozenBy.sql
        case .frozenReason: frozenReason.sql
        case .createdAt: .int(createdAt)
        case .updatedAt: .int(updatedAt)
        }
    }

    public var snapshot: JSON { .object(record) }
    public var snapshotText: String { snapshot.serialized(sortedKeys: true) }

    /// The refusal of an issuance while frozen, naming the freeze, its reason, who froze it and since when.
    public var freezeMessage: String {
        "system '\(id)' is frozen since \(Time.iso(frozenAt ?? 0)) by \(frozenBy ?? "?"): \(frozenReason ?? "") "
            + "(nothing new is issued for it until: nhi system unfreeze \(id))"
    }
}

/// An exception: one derived state of one token waived until a date, with a reason and an approver.
public struct StateException: Sendable, Equatable {
    public var id: String
    public var tokenID: String
    public var state: String
    public var until: Instant
    public var reason: String
    public var approvedBy: String?
    public var status: String
    public var revokedAt: Instant?
    public var revokeNote: String?
    public var createdAt: Instant
    public var updatedAt: Instant

    public init(id: String, tokenID: String, state: String, until: Instant, reason: String, approvedBy: String?,
                status: String = "active", revokedAt: Instant? = nil, revokeNote: String? = nil,
                createdAt: Instant, updatedAt: Instant) {
        self.id = id; self.tokenID = tokenID; self.state = state; self.until = until; self.reason = reason
        self.approvedBy = approvedBy; self.status = status; self.revokedAt = revokedAt; self.revokeNote = revokeNote
        self.createdAt = createdAt; self.updatedAt = updatedAt
    }

    package init(row: Row) throws(DatabaseError) {
        func text(_ c: ExceptionColumn) throws(DatabaseError) -> String? { try row.text(c.name) }
        func int(_ c: ExceptionColumn) throws(DatabaseError) -> Int64? { try row.int(c.name) }
        id = try text(.id) ?? ""; tokenID = try text(.tokenID) ?? ""; state = try text(.state) ?? ""
        until = try int(.until) ?? 0; reason = try text(.reason) ?? ""; approvedBy = try text(.approvedBy)
        status = try text(.status) ?? "active"; revokedAt = try int(.revokedAt); revokeNote = try text(.revokeNote)
        createdAt = try int(.createdAt) ?? 0; updatedAt = try int(.updatedAt) ?? 0
    }

    /// Whether it waives its state at `instant`: active, granted by then, and not yet lapsed.
    public func holds(at instant: Instant) -> Bool { status == "active" && createdAt <= instant && instant < until }

    public static let columns = [Column("id"), Column("token"), Column("state"), Column("until"),
                                 Column("approved_by", "APPROVED BY"), Column("status"), Column("reason")]

    public var record: JSONObject {
        var object: JSONObject = ["kind": "exception"]
        for column in ExceptionColumn.allCases { object[column.field] = fieldValue(column) }
        return object
    }

    package func fieldValue(_ column: ExceptionColumn) -> JSON {
        switch column {
        case .id: .string(id)
        case .tokenID: .string(tokenID)
        case .state: .string(state)
        case .until: JSON.instant(until)
        case .reason: .string(reason)
        case .approvedBy: approvedBy.map(JSON.string) ?? .null
        case .status: .string(status)
        case .revokedAt: JSON.instant(revokedAt)
        case .revokeNote: revokeNote.map(JSON.string) ?? .null
        case .createdAt: JSON.instant(createdAt)
        case .updatedAt: JSON.instant(updatedAt)
        }
    }

    package func storedValue(_ column: ExceptionColumn) -> SQLValue {
        switch column {
        case .id: .text(id)
        case .tokenID: .text(tokenID)
        case .state: .text(state)
        case .until: .int(until)
        case .reason: .text(reason)
        case .approvedBy: approvedBy.sql
        case .status: .text(status)
        case .revokedAt: revokedAt.sql
        case .revokeNote: revokeNote.sql
        case .createdAt: .int(createdAt)
        case .updatedAt: .int(updatedAt)
        }
    }

    public var snapshot: JSON { .object(record) }
    public var snapshotText: String { snapshot.serialized(sortedKeys: true) }
}

extension Registry {
    public static func system(_ db: Database, _ id: String) throws -> GovernedSystem? {
        try db.row("SELECT * FROM systems WHERE id = :id", ["id": .text(id)]).map(GovernedSystem.init(row:))
    }

    public static func requireSystem(_ db: Database, _ id: String) throws -> GovernedSystem {
        guard let system = try system(db, id) else {
            throw NHIError.data("unknown system '\(Redaction.printable(id))' (add it with: nhi system add \(Redaction.printable(id)) --policy-owner OWNER --platform-owner OWNER)")
        }
        return system
    }

    public static func systems(_ db: Database) throws -> [GovernedSystem] {
        try db.rows("SELECT * FROM systems ORDER BY id").map(GovernedSystem.init(row:))
    }

    public static func exception(_ db: Database, _ id: String) throws -> StateException? {
        try db.row("SELECT * FROM exceptions WHERE id = :id", ["id": .text(id)]).map(StateException.init(row:))
    }

    /// Exceptions by token then id; `activeOnly` leaves out revoked ones (lapsed ones are the caller's to judge).
    public static func exceptions(_ db: Database, token: String? = nil, activeOnly: Bool = false) throws -> [StateException] {
        try db.rows("""
            SELECT * FROM exceptions WHERE (:token IS NULL OR token_id = :token) AND (:active = 0 OR status = 'active')
            ORDER BY token_id, id
            """, ["token": token.sql, "active": .int(activeOnly ? 1 : 0)]).map(StateException.init(row:))
    }
}
