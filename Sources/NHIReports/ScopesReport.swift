import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

/// `report scopes`: least privilege from usage (OWASP NHI5, Overprivileged NHI). Per active token, the granted
/// scopes no recorded use exercised in the window (what least privilege would remove), and the exercised scopes
/// that were not granted at the time of the use (scope-creep findings, as the usage log decided them when each
/// use was written).
extension Reports {
    public struct ScopeRow: Sendable, Equatable {
        public var token: String
        public var owner: String
        public var agent: String
        public var granted: [String]
        /// Granted scopes that no use in the window exercised.
        public var unused: [String]
        /// Granted scopes that a use in the window exercised.
        public var exercised: [String]
        /// Scopes uses in the window exercised without the grant at the time (scope-creep).
        public var ungranted: [String]
        /// Uses in the window that named their scopes: 0 means the log says nothing either way.
        public var usesWithScopes: Int64

        public var record: JSONObject {
            [
                "token": .string(token), "owner": .string(owner), "agent": .string(agent),
                "granted": .string(granted.joined(separator: ",")), "unused": .string(unused.joined(separator: ",")),
                "exercised": .string(exercised.joined(separator: ",")), "scope_creep": .string(ungranted.joined(separator: ",")),
                "uses_with_scopes": .int(usesWithScopes),
            ]
        }

        public static let columns = [Column("token"), Column("owner"), Column("agent"), Column("granted"), Column("unused"),
                                     Column("exercised"), Column("scope_creep", "SCOPE-CREEP"),
                                     Column("uses_with_scopes", "USES-WITH-SCOPES")]
    }

    /// Active tokens (as of `asOf`) with a granted scope unused in (asOf - unusedFor, asOf], or with scope creep in
    /// that window; in token id order, each given to `body` as it is found (a million-token store's rows are never
    /// held together).
    public static func scopes(_ db: Database, asOf: Instant, unusedFor: Int64, _ body: (ScopeRow) throws -> Void) throws {
        struct Seen { var exercised: Set<String> = []; var ungranted: [String] = []; var uses: Int64 = 0 }
        var seen: [String: Seen] = [:]
        try db.forEachCursor("""
            SELECT token_id, scopes, ungranted FROM usage WHERE scopes IS NOT NULL AND at > :from AND at <= :as_of
            ORDER BY id
            """, ["from": .int(asOf - unusedFor), "as_of": .int(asOf)]) { row in
            var entry = seen[row.string(0)] ?? Seen()
            entry.uses += 1
            entry.exercised.formUnion(Token.decodeScopes(row.string(1)))
            for scope in Token.decodeScopes(row.text(2) ?? "") where !entry.ungranted.contains(scope) { entry.ungranted.append(scope) }
            seen[row.string(0)] = entry
        }
        try db.forEachCursor("SELECT id, owner_id, agent_id, scopes FROM tokens WHERE status = 'active' ORDER BY id") { row in
            let id = row.string(0)
            let granted = Token.decodeScopes(row.string(3))
            let use = seen[id] ?? Seen()
            let unused = granted.filter { !use.exercised.contains($0) }
            guard !unused.isEmpty || !use.ungranted.isEmpty else { return }
            try body(ScopeRow(token: id, owner: row.string(1), agent: row.string(2), granted: granted, unused: unused,
                              exercised: granted.filter { use.exercised.contains($0) }, ungranted: use.ungranted,
                              usesWithScopes: use.uses))
        }
    }
}
