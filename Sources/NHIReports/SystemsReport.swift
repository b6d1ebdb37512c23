import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

extension Reports {
    /// One row of `report systems`: a system, registered or only named by tokens, with its roles and whether each
    /// role holder is active, its freeze, its active tokens and how many of them are in each derived state.
    public struct SystemRow: Sendable, Equatable {
        public let id: String
        /// nil: named by tokens only, never registered.
        public let system: GovernedSystem?
        /// Each role's owner status (`active`, `departed`, `unknown`), by role column.
        public let roleStatus: [SystemColumn: String]
        public var activeTokens: Int64 = 0
        /// Per `DerivedState.allCases`: active tokens of the system in the state at as-of.
        public var stateCounts: [Int64]
        /// How many of those findings an exception waives (they stay counted per state: waived, never hidden).
        public var waived: Int64 = 0

        public static let columns: [Column] = [Column("system"), Column("registered"), Column("system_kind", "KIND"),
                                               Column("policy_owner", "POLICY"), Column("policy_owner_status", "STATUS"),
                                               Column("platform_owner", "PLATFORM"), Column("platform_owner_status", "STATUS"),
                                               Column("frozen"), Column("active_tokens", "ACTIVE")]
            + DerivedState.allCases.map { Column($0.rawValue) } + [Column("waived")]

        public var record: JSONObject {
            var object: JSONObject = ["system": .string(id), "registered": .bool(system != nil),
                                      "system_kind": system.map { JSON.string($0.kind) } ?? .null,
                                      "gateway_role": system?.gatewayRole.map(JSON.string) ?? .null]
            for role in SystemColumn.roles {
                object[role.name] = system?.owner(role).map(JSON.string) ?? .null
                object[role.name + "_status"] = roleStatus[role].map(JSON.string) ?? .null
            }
            object["managed_by"] = system?.managedBy.map(JSON.string) ?? .null
            object["boundary"] = system?.boundary.map(JSON.string) ?? .null
            object["frozen"] = .bool(system?.frozen ?? false)
            object["frozen_at"] = JSON.instant(system?.frozenAt)
            object["frozen_by"] = system?.frozenBy.map(JSON.string) ?? .null
            object["frozen_reason"] = system?.frozenReason.map(JSON.string) ?? .null
            object["active_tokens"] = .int(activeTokens)
            for (state, count) in zip(DerivedState.allCases, stateCounts) { object[state.rawValue] = .int(count) }
            object["waived"] = .int(waived)
            return object
        }
    }

    /// Every system, registered or named by an active or revoked token's `system` or `issuer`, in id order; the
    /// states are the one definition's (`StateQuery`, one pass over the active tokens), as of `asOf`.
    public static func systems(_ db: Database, asOf: Instant, maxUnused: Int64) throws -> [SystemRow] {
        var rows: [SystemRow] = []
        var index = IDMap()
        let owners = Dictionary(uniqueKeysWithValues: try Registry.owners(db).map { ($0.id, $0.status) })
        func add(_ id: String, _ system: GovernedSystem?) {
            var status: [SystemColumn: String] = [:]
            if let system {
                for role in SystemColumn.roles { if let o = system.owner(role) { status[role] = owners[o] ?? "unknown" } }
            }
            index.set(id, rows.count)
            rows.append(SystemRow(id: id, system: system, roleStatus: status, stateCounts: Array(repeating: 0, count: DerivedState.allCases.count)))
        }
        for system in try Registry.systems(db) { add(system.id, system) }
        let named = History.distinctSQL(db, "tokens", "system") + " UNION " + History.distinctSQL(db, "tokens", "issuer", nonNull: true)
        try db.forEachCursor(named) { row in
            let id = row.string(0)
            if index.value(id) == nil { add(id, nil) }
        }
        let waivers = try Waivers(db, asOf: asOf)
        var query = StateQuery(asOf: asOf, maxUnused: maxUnused)
        query.everyActiveToken = true
        query.fullTokens = false
        query.inIDOrder = false
        try query.scan(db) { item in
            guard let i = index.value(item.row, item.columns[.system]) else { return }
            rows[i].activeTokens += 1
            for s in DerivedState.allCases.indices where item.found & (1 << s) != 0 { rows[i].stateCounts[s] += 1 }
            if !waivers.isEmpty {
                rows[i].waived += Int64(Waivers.waivedStates(waivers.exceptions(item.row, item.columns[.id]), found: item.found).count)
            }
        }
        return rows.sorted { $0.id.utf8.lexicographicallyPrecedes($1.id.utf8) }
    }
}
