import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// The check side of the hash chain: recomputes every entry's hash, follows the links, and compares the current
/// owners, agents, tokens, systems and exceptions with the last audit entry written for each (Docs/audit.md).
///
/// The contract every writer keeps: an entry of a versioned kind (History.versioned) has as `after` that entity's full
/// `snapshot` after the change (NULL only when it was removed). A record that is not an entity snapshot (a usage
/// summary, a review note) needs a kind of its own, or verify reports the entity as edited.
public enum AuditVerifier {
    /// One thing that does not match. `seq` names the entry, `entity` the row (`token gh-1`), when they apply.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        public let seq: Int64?
        public let entity: String?
        public let message: String

        public var description: String {
            if let seq { return "entry \(seq): \(message)" }
            if let entity { return "\(entity): \(message)" }
            return message
        }
    }

    public struct Result: Sendable {
        public var entries: Int64 = 0
        /// The newest entry's stored hash (the genesis hash for an empty log).
        public var head = AuditLog.genesisHash
        /// The first problems found, chain problems in entry order first (at most `problemLimit`).
        public var problems: [Problem] = []
        /// All problems found, including those not kept in `problems`.
        public var problemCount = 0
        public var ok: Bool { problemCount == 0 }

        package mutating func add(_ problem: Problem, limit: Int) {
            problemCount += 1
            if problems.count < limit { problems.append(problem) }
        }
    }

    /// The entity kinds whose current rows must equal the `after` of their last entry, with their tables
    /// (constant SQL names, never user data): the versioned entities (History.versioned), then reviews, attestations
    /// an auditor relies on, each row equal to the record its `review` entry wrote.
    package static let entityTables: [(kind: String, table: String)] = History.versioned.map { ($0.kind, $0.table) }
        + [("review", "reviews")]

    /// Verifies the whole store in one read snapshot. `pinnedHead`, when given, must be the hash of some entry.
    public static func verify(_ db: Database, pinnedHead: String? = nil, problemLimit: Int = 20) throws -> Result {
        var result = Result()
        var expectedSeq: Int64 = 1
        var previousHash = AuditLog.genesisHash
        var pinnedFound = pinnedHead == nil || pinnedHead == AuditLog.genesisHash
        var recordedUses: Int64 = 0
        try db.forEachRow("""
            SELECT seq, at, actor, command, action, entity_kind, entity_id, before, after, prev_hash, hash
            FROM audit_log ORDER BY seq
            """) { row in
            let entry = try AuditLog.Entry(row: row)
            result.entries += 1
            if entry.seq != expectedSeq {
                let more = entry.seq - 1 == expectedSeq ? "" : " with the \(entry.seq - 1 - expectedSeq) after it"
                let jump = expectedSeq == 1 ? "the log starts at \(entry.seq)" : "the chain jumps from \(expectedSeq - 1) to \(entry.seq)"
                let message = entry.seq > expectedSeq
                    ? "missing\(more) (deleted): \(jump)"
                    : "out of sequence: expected entry \(expectedSeq)"
                result.add(Problem(seq: entry.seq > expectedSeq ? expectedSeq : entry.seq, entity: nil, message: message), limit: problemLimit)
            } else if entry.hash != entry.computedHash {
                result.add(Problem(seq: entry.seq, entity: nil,
                                   message: "altered: its content no longer hashes to its stored hash (an edited, inserted or reordered entry)"),
                           limit: problemLimit)
            } else if entry.prevHash != previousHash {
                let before = entry.seq == 1 ? "the genesis hash" : "entry \(entry.seq - 1)'s hash"
                result.add(Problem(seq: entry.seq, entity: nil,
                                   message: "does not link to the entry before it: its prev_hash is not \(before) (the earlier entry was rewritten, or entries were removed or reordered)"),
                           limit: problemLimit)
            }
            if entry.entityKind == AuditLog.usageKind {
                try checkUsageRows(db, entry, recordedUses: &recordedUses, into: &result, limit: problemLimit)
            }
            if !pinnedFound && entry.hash == pinnedHead { pinnedFound = true }
            previousHash = entry.hash
            expectedSeq = entry.seq + 1
        }
        result.head = previousHash
        if !pinnedFound, let pinnedHead {
            result.add(Problem(seq: nil, entity: nil,
                               message: "the pinned head \(pinnedHead) is not in the chain: history was rewritten after it was pinned (or the hash is not from this store)"),
                       limit: problemLimit)
        }
        let storedUses = try db.scalar("SELECT count(*) FROM usage").int ?? 0
        if storedUses > recordedUses {
            result.add(Problem(seq: nil, entity: "usage log",
                               message: "holds \(storedUses) uses but its audit entries account for \(recordedUses) (rows inserted directly)"),
                       limit: problemLimit)
        }
        for (kind, table) in entityTables {
            try checkCurrentRows(db, kind: kind, table: table, into: &result, limit: problemLimit)
            try checkDeletedRows(db, kind: kind, table: table, into: &result, limit: problemLimit)
        }
        for versioned in History.versioned {
            try checkHistoryRows(db, versioned, into: &result, limit: problemLimit)
            try checkMissingVersions(db, versioned, into: &result, limit: problemLimit)
        }
        try checkSchema(db, into: &result, limit: problemLimit)
        return result
    }

    /// The store's tables, indexes, triggers and views must be exactly what nhi's migrations create: an added
    /// trigger (one rewriting every new usage row's agent, say) changes what is stored without touching a row
    /// the chain covers. The expectation is built by running `Schema.migrations` on an in-memory store.
    package static func checkSchema(_ db: Database, into result: inout Result, limit: Int) throws {
        guard db.dialect == .sqlite else { return }
        let query = "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        func objects(_ db: Database) throws -> [String: String] {
            var found: [String: String] = [:]
            try db.forEachRow(query) { row in
                found["\(try row.string("type")) \(try row.string("name"))"] = "\(try row.string("tbl_name"))\n\(try row.string("sql"))"
            }
            return found
        }
        let expected = try objects(try Store.inMemory().db)
        let actual = try objects(db)
        for key in Set(expected.keys).union(actual.keys).sorted() where expected[key] != actual[key] {
            let what = Redaction.printable(key)
            let message = expected[key] == nil ? "is not created by nhi's migrations (added to the store directly)"
                : actual[key] == nil ? "is missing (dropped from the store directly)"
                : "differs from what nhi's migrations create (altered directly)"
            result.add(Problem(seq: nil, entity: "schema \(what)", message: message), limit: limit)
        }
    }

    /// Every current row must have an audit entry, and its snapshot must equal that entry's `after`.
    package static func checkCurrentRows(_ db: Database, kind: String, table: String, into result: inout Result, limit: Int) throws {
        try db.forEachRow("""
            SELECT x.*, l.seq AS audit_seq, l.after AS audit_after, l.at AS audit_at\(kind == "token" ? lastUseColumn : "")
            FROM \(table) x
            LEFT JOIN audit_log l ON l.seq = (SELECT max(b.seq) FROM audit_log b WHERE b.entity_kind = :kind AND b.entity_id = CAST(x.id AS TEXT))
            ORDER BY x.id
            """, ["kind": .text(kind)]) { row in
            let snapshot: JSON = kind == "review" ? .object(try ReviewRow(row: row).record)
                : try History.versioned(kind: kind)?.snapshot(row) ?? .null
            // Named only when there is a problem: printable() runs the secret detector.
            let id = try row.text("id") ?? String(try row.int("id") ?? 0)
            if kind == "token" {
                try checkTokenColumnsOutsideSnapshot(row, entity: "token \(Redaction.printable(id))", into: &result, limit: limit)
            }
            var entity: String { "\(kind) \(Redaction.printable(id))" }
            guard let seq = try row.int("audit_seq") else {
                result.add(Problem(seq: nil, entity: entity, message: "has no audit entry (inserted directly into the store)"), limit: limit)
                return
            }
            guard var recorded = try row.text("audit_after") else {
                result.add(Problem(seq: nil, entity: entity,
                                   message: "exists, but its last audit entry (entry \(seq)) records its removal (re-inserted directly)"),
                           limit: limit)
                return
            }
            // `system unfreeze` keeps its note beside the system's new state: a record of the command, not a field.
            if kind == "system", recorded.contains("\"note\":"), var object = (try? JSONParser.parse(recorded))?.objectValue {
                _ = object.removeValue(forKey: "note")
                recorded = JSON.object(object).serialized(sortedKeys: true)
            }
            let current = snapshot.serialized(sortedKeys: true)
            if current != recorded && !sameAllowingAddedColumns(recorded: recorded, current: snapshot) {
                let fields = differingFields(recorded: recorded, current: snapshot)
                result.add(Problem(seq: nil, entity: entity,
                                   message: "differs from its last audit entry (entry \(seq)) in \(fields) (edited directly in the store)"),
                           limit: limit)
            }
        }
    }

    /// The latest recorded use of the token (`usage_last_at`), for `checkTokenColumnsOutsideSnapshot`.
    private static let lastUseColumn = ", (SELECT max(u.at) FROM usage u WHERE u.token_id = x.id) AS usage_last_at"

    /// What the snapshot does not hold but the states read. `labels` must be the JSON nhi writes (invalid JSON
    /// would read as no labels). `last_used_at` moves only with a recorded use (whose rows the usage entries cover)
    /// or with a write that has its own entry (an import), so it can be no later than the latest of the two: an edit
    /// that makes an idle token look used is caught.
    package static func checkTokenColumnsOutsideSnapshot(_ row: Row, entity: String, into result: inout Result, limit: Int) throws {
        let labels = try row.string("labels")
        if !labels.isEmpty && labels != "{}" && Token.encodeLabels(Token.decodeLabels(labels)) != labels {
            result.add(Problem(seq: nil, entity: entity, message: "has labels that are not the JSON nhi writes (edited directly in the store)"),
                       limit: limit)
        }
        for column in [TokenColumn.issuedAt, .expiresAt, .lastRotatedAt, .lastReviewedAt, .lastUsedAt, .revokedAt] {
            if let value = try row.int(column.name), !Time.storable.contains(value) {
                result.add(Problem(seq: nil, entity: entity, message: "has \(column.name) \(value), out of the range nhi writes (edited directly in the store)"),
                           limit: limit)
            }
        }
        for column in [TokenColumn.rotateEvery, .reviewEvery] {
            if let value = try row.int(column.name), !Duration.storable.contains(value) {
                result.add(Problem(seq: nil, entity: entity, message: "has \(column.name) \(value), out of the range nhi writes (edited directly in the store)"),
                           limit: limit)
            }
        }
        guard let lastUsed = try row.int("last_used_at") else { return }
        let bound = max(try row.int("usage_last_at") ?? .min, try row.int("audit_at") ?? .min)
        if lastUsed > bound {
            result.add(Problem(seq: nil, entity: entity,
                               message: "has last_used_at \(Time.storable.contains(lastUsed) ? Time.iso(lastUsed) : String(lastUsed)), later than its latest recorded use and its last audit entry (edited directly in the store)"),
                       limit: limit)
        }
    }

    /// Every history row is the `before` of the audit entry that ended it (`ended_by_seq`), over the interval from the
    /// entity's previous entry (`made_by_seq`, none when the row predates its trail) to that entry: an edited row, an
    /// edited interval or a row inserted without its entry is named by the entry it claims.
    package static func checkHistoryRows(_ db: Database, _ versioned: History.Versioned, into result: inout Result,
                                         limit: Int) throws {
        try db.forEachRow("""
            SELECT h.*, e.entity_kind AS audit_kind, e.entity_id AS audit_id, e.before AS audit_before, e.at AS audit_at,
                   p.seq AS previous_seq, p.at AS previous_at
            FROM \(versioned.historyTable) h
            LEFT JOIN audit_log e ON e.seq = h.ended_by_seq
            LEFT JOIN audit_log p ON p.seq = (SELECT max(b.seq) FROM audit_log b
                                              WHERE b.entity_kind = :kind AND b.entity_id = h.id AND b.seq < h.ended_by_seq)
            ORDER BY h.ended_by_seq
            """, ["kind": .text(versioned.kind)]) { row in
            let endedBy = try row.int("ended_by_seq") ?? 0
            let id = try row.string("id")
            var entity: String { "\(versioned.historyTable) row of \(versioned.kind) \(Redaction.printable(id)) (ended by entry \(endedBy))" }
            func problem(_ message: String) { result.add(Problem(seq: nil, entity: entity, message: message), limit: limit) }
            guard try row.text("audit_kind") == versioned.kind, try row.text("audit_id") == id,
                  let recorded = try row.text("audit_before") else {
                problem("has no audit entry that changed this \(versioned.kind) (inserted directly into the store)")
                return
            }
            let current = try versioned.snapshot(row)
            if current.serialized(sortedKeys: true) != recorded, !sameAllowingAddedColumns(recorded: recorded, current: current) {
                problem("differs from the before of its audit entry in \(differingFields(recorded: recorded, current: current)) (edited directly in the store)")
            } else if try row.int("valid_to") != row.int("audit_at") || row.int("made_by_seq") != row.int("previous_seq")
                        || row.int("valid_from") != row.int("previous_at") {
                problem("its interval (valid_from, valid_to, made_by_seq) is not the one its audit entries give (edited directly in the store)")
            }
        }
    }

    /// Every audit entry that changed an existing entity must have left the superseded version in the history.
    package static func checkMissingVersions(_ db: Database, _ versioned: History.Versioned, into result: inout Result,
                                             limit: Int) throws {
        try db.forEachRow("""
            SELECT a.seq AS seq, a.entity_id AS entity_id FROM audit_log a
            WHERE a.entity_kind = :kind AND a.before IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM \(versioned.historyTable) h WHERE h.ended_by_seq = a.seq)
            ORDER BY a.seq
            """, ["kind": .text(versioned.kind)]) { row in
            result.add(Problem(seq: try row.int("seq"), entity: nil,
                               message: "changed \(versioned.kind) \(Redaction.printable(try row.string("entity_id"))), but the version it ended is missing from \(versioned.historyTable) (deleted directly from the store)"),
                       limit: limit)
        }
    }

    /// A usage entry names the ids of the rows it wrote; they must all still be there.
    package static func checkUsageRows(_ db: Database, _ entry: AuditLog.Entry, recordedUses: inout Int64, into result: inout Result,
                               limit: Int) throws {
        guard let summary = entry.afterJSON, let records = summary["records"]?.intValue,
              let first = summary["first_usage_id"]?.intValue, let last = summary["last_usage_id"]?.intValue else { return }
        recordedUses += records
        let present = try db.scalar("SELECT count(*) FROM usage WHERE id BETWEEN ? AND ?", [.int(first), .int(last)]).int ?? 0
        if present < records {
            result.add(Problem(seq: entry.seq, entity: nil,
                               message: "\(records - present) of the \(records) uses it recorded are missing from the usage log (deleted directly)"),
                       limit: limit)
        }
    }

    /// An entity whose last entry says it exists must still have its row.
    /// The ids are compared as text (a review's id is an integer); `CAST(x.id ...)` in the correlated subquery itself
    /// would keep SQLite from using the table's key, a scan of the table for every entity. Materialised once, the
    /// cast ids are searched through an automatic index on SQLite and hashed by PostgreSQL's anti-join.
    package static func checkDeletedRows(_ db: Database, kind: String, table: String, into result: inout Result, limit: Int) throws {
        try db.forEachRow("""
            WITH present AS MATERIALIZED (SELECT CAST(id AS TEXT) AS id FROM \(table))
            SELECT l.entity_id AS entity_id, l.seq AS seq
            FROM (SELECT entity_id, max(seq) AS seq FROM audit_log WHERE entity_kind = :kind GROUP BY entity_id) l
            JOIN audit_log a ON a.seq = l.seq
            WHERE a.after IS NOT NULL AND NOT EXISTS (SELECT 1 FROM present x WHERE x.id = l.entity_id)
            ORDER BY l.entity_id
            """, ["kind": .text(kind)]) { row in
            result.add(Problem(seq: nil, entity: "\(kind) \(Redaction.printable(try row.string("entity_id")))",
                               message: "is missing, but its last audit entry (entry \(try row.int("seq") ?? 0)) says it exists (deleted directly from the store)"),
                       limit: limit)
        }
    }

    /// The snapshot keys whose values differ, for a message a reader can act on.
    /// An entry written before a migration added a column has no key for it; the row then holds the column's
    /// null, or the default the migration gave it (`addedColumnDefaults`). That is the same record, not an edit (the
    /// migration itself is covered by the schema check).
    package static func sameAllowingAddedColumns(recorded: String, current: JSON) -> Bool {
        guard let old = (try? JSONParser.parse(recorded))?.objectValue, let new = current.objectValue else { return false }
        for key in new.keys where old[key] == nil && new[key] != .null && new[key] != addedColumnDefaults[key] { return false }
        for key in old.keys where old[key] != new[key] { return false }
        return true
    }

    /// The snapshot fields a migration added with a default other than null: migration 6's agent `mode`.
    package static let addedColumnDefaults: [String: JSON] = ["mode": .string(Agent.defaultMode)]

    package static func differingFields(recorded: String, current: JSON) -> String {
        guard let old = (try? JSONParser.parse(recorded))?.objectValue, let new = current.objectValue else { return "its content" }
        let keys = Set(old.keys).union(new.keys).sorted()
        let changed = keys.filter { old[$0] != new[$0] }
        return changed.isEmpty ? "its serialisation" : changed.joined(separator: ", ")
    }

    /// A hash as `audit head` prints it: 64 lowercase hexadecimal digits.
    public static func isHash(_ text: String) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
