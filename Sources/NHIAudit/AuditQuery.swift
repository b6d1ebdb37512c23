import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// Reading the audit log back: filtered, newest first, with each entry's before/after difference.
public struct AuditQuery: Sendable {
    /// Entries about this token (its changes and its recorded uses).
    public var token: String?
    /// Entries about this owner, and about agents and tokens that belonged to them before or after the change.
    public var owner: String?
    public var actor: String?
    /// Inclusive bounds on the entry's instant.
    public var since: Instant?
    public var until: Instant?
    public var limit: Int64?

    public init(token: String? = nil, owner: String? = nil, actor: String? = nil, since: Instant? = nil,
                until: Instant? = nil, limit: Int64? = nil) {
        self.token = token; self.owner = owner; self.actor = actor; self.since = since; self.until = until
        self.limit = limit
    }

    /// Streams matching entries, newest first.
    public func forEach(_ db: Database, _ body: (AuditLog.Entry) throws -> Void) throws {
        // With --token the entity index narrows the scan; otherwise the log is read newest first by seq.
        let sql = token != nil
            ? """
              SELECT * FROM audit_log
              WHERE entity_kind IN ('token', 'usage') AND entity_id = :token
                AND (:actor IS NULL OR actor = :actor) AND (:since IS NULL OR at >= :since) AND (:until IS NULL OR at <= :until)
              ORDER BY seq DESC
              """
            : """
              SELECT * FROM audit_log
              WHERE (:actor IS NULL OR actor = :actor) AND (:since IS NULL OR at >= :since) AND (:until IS NULL OR at <= :until)
              ORDER BY seq DESC
              """
        var emitted: Int64 = 0
        // Thrown to stop the scan once `limit` entries are out, rather than stepping through the rest of the log.
        struct Enough: Error {}
        do {
            try db.forEachRow(sql, ["token": token.sql, "actor": actor.sql, "since": since.sql, "until": until.sql]) { row in
                let entry = try AuditLog.Entry(row: row)
                if let owner, !entry.concerns(owner: owner) { return }
                emitted += 1
                try body(entry)
                if let limit, emitted >= limit { throw Enough() }
            }
        } catch is Enough {}
    }
}

/// One field that changed between an entry's before and after snapshots.
public struct AuditChange: Sendable, Equatable {
    public let field: String
    public let before: JSON?
    public let after: JSON?
}

extension AuditLog.Entry {
    public var beforeJSON: JSON? { before.flatMap { try? JSONParser.parse($0) } }
    public var afterJSON: JSON? { after.flatMap { try? JSONParser.parse($0) } }

    /// True for the owner itself, and for an agent or token that belonged to `owner` before or after the change.
    package func concerns(owner: String) -> Bool {
        if entityKind == "owner" { return entityID == owner }
        guard entityKind == "agent" || entityKind == "token" else { return false }
        return beforeJSON?["owner"]?.stringValue == owner || afterJSON?["owner"]?.stringValue == owner
    }

    /// Fields that differ between before and after; `updated_at` is left out because every change moves it.
    public var changes: [AuditChange] {
        guard let old = beforeJSON?.objectValue, let new = afterJSON?.objectValue else { return [] }
        let keys = Set(old.keys).union(new.keys).subtracting(["updated_at"]).sorted()
        return keys.compactMap { key in old[key] == new[key] ? nil : AuditChange(field: key, before: old[key], after: new[key]) }
    }

    /// The difference as one line a reader scans: `purpose: ci -> deploy; expires_at: 2026-12-31 -> 2027-03-01`.
    public var changeSummary: String {
        switch (before, after) {
        case (nil, nil): return "-"
        case (nil, .some):
            // A creation, or a summary entry (usage) whose `after` is the whole story.
            if entityKind == "usage", let object = afterJSON?.objectValue { return TableText.display(.object(object)) }
            return "created"
        case (.some, nil): return "removed"
        case (.some, .some):
            let list = changes
            if list.isEmpty { return "no field changed" }
            return list.map { "\($0.field): \(TableText.display($0.before)) -> \(TableText.display($0.after))" }.joined(separator: "; ")
        }
    }

    /// The entry as a listing record. Structured formats keep before/after as objects and the changes as a list.
    public func record(structured: Bool) -> JSONObject {
        var object: JSONObject = [
            "seq": .int(seq), "at": .string(Time.iso(at)), "actor": .string(actor), "command": .string(command),
            "action": .string(action), "entity_kind": .string(entityKind), "entity_id": .string(entityID),
        ]
        if structured {
            object["changes"] = .array(changes.map { change in
                .object(["field": .string(change.field), "before": change.before ?? .null, "after": change.after ?? .null])
            })
            object["before"] = beforeJSON ?? .null
            object["after"] = afterJSON ?? .null
        } else {
            object["entity"] = .string("\(entityKind):\(entityID)")
            object["changes"] = .string(changeSummary)
            object["before"] = before.map(JSON.string) ?? .null
            object["after"] = after.map(JSON.string) ?? .null
        }
        object["prev_hash"] = .string(prevHash)
        object["hash"] = .string(hash)
        return object
    }

    public static let tableColumns = [Column("seq"), Column("at"), Column("actor"), Column("action"), Column("entity"),
                                      Column("changes")]
    public static let csvColumns = [Column("seq"), Column("at"), Column("actor"), Column("command"), Column("action"),
                                    Column("entity_kind"), Column("entity_id"), Column("changes"), Column("before"),
                                    Column("after"), Column("prev_hash"), Column("hash")]
}
