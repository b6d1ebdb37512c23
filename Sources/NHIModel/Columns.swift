import NHIStore

/// The tokens table's stored columns, in the schema's order: the one declaration that queries, record fields
/// (export, JSON, audit snapshots) and the state scan's layout read.
public enum TokenColumn: Int, DeclaredColumn {
    case id, ownerID, purpose, system, agentID, environment, scopes, issuedAt, expiresAt, rotateEvery, lastRotatedAt
    case reviewEvery, lastReviewedAt, fingerprint, labels, status, revokedAt, revokeReason, lastUsedAt, createdAt, updatedAt

    public var name: String {
        switch self {
        case .id: "id"
        case .ownerID: "owner_id"
        case .purpose: "purpose"
        case .system: "system"
        case .agentID: "agent_id"
        case .environment: "environment"
        case .scopes: "scopes"
        case .issuedAt: "issued_at"
        case .expiresAt: "expires_at"
        case .rotateEvery: "rotate_every"
        case .lastRotatedAt: "last_rotated_at"
        case .reviewEvery: "review_every"
        case .lastReviewedAt: "last_reviewed_at"
        case .fingerprint: "fingerprint"
        case .labels: "labels"
        case .status: "status"
        case .revokedAt: "revoked_at"
        case .revokeReason: "revoke_reason"
        case .lastUsedAt: "last_used_at"
        case .createdAt: "created_at"
        case .updatedAt: "updated_at"
        }
    }

    /// The record's field for the column (JSON key, CSV header, audit snapshot key): the column's name, except
    /// that references read as the thing they name.
    public var field: String {
        switch self {
        case .ownerID: "owner"
        case .agentID: "agent"
        default: name
        }
    }
}

/// The owners table's stored columns, in the schema's order.
public enum OwnerColumn: Int, DeclaredColumn {
    case id, name, email, team, status, departedAt, createdAt, updatedAt

    public var name: String {
        switch self {
        case .id: "id"
        case .name: "name"
        case .email: "email"
        case .team: "team"
        case .status: "status"
        case .departedAt: "departed_at"
        case .createdAt: "created_at"
        case .updatedAt: "updated_at"
        }
    }

    /// The record's field for the column: the same as the column's name.
    public var field: String { name }
}

/// The agents table's stored columns, in the schema's order.
public enum AgentColumn: Int, DeclaredColumn {
    case id, system, ownerID, status, decommissionedAt, createdAt, updatedAt

    public var name: String {
        switch self {
        case .id: "id"
        case .system: "system"
        case .ownerID: "owner_id"
        case .status: "status"
        case .decommissionedAt: "decommissioned_at"
        case .createdAt: "created_at"
        case .updatedAt: "updated_at"
        }
    }

    public var field: String { self == .ownerID ? "owner" : name }
}
