import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// Who is writing, through which command, at which instant: stamped on every audit entry of one invocation.
public struct AuditContext: Sendable {
    public let actor: String
    public let command: String
    public let at: Instant
    public init(actor: String, command: String, at: Instant) {
        self.actor = actor
        self.command = command
        self.at = at
    }
}

/// The append side of the hash-chained audit log. Every write calls `append` inside its own transaction,
/// so the change and its record commit or vanish together.
public enum AuditLog {
    /// The entity kind of the entries that summarise recorded uses (`usage record`, `usage import`). They are
    /// about the usage log, not a token's state: `verify` compares token rows only with entries of kind `token`.
    public static let usageKind = "usage"

    public static let genesisHash = String(repeating: "0", count: 64)

    /// One audit entry as stored.
    public struct Entry: Sendable, Equatable {
        public var seq: Int64
        public var at: Instant
        public var actor: String
        public var command: String
        public var action: String
        public var entityKind: String
        public var entityID: String
        public var before: String?
        public var after: String?
        public var prevHash: String
        public var hash: String

        /// The canonical serialisation that is hashed: compact JSON, keys sorted, before/after as the stored
        /// JSON text (so the hash covers exactly the bytes kept). Documented in Docs/audit.md.
        public var canonical: String { String(decoding: canonicalBytes, as: UTF8.self) }

        /// `canonical` as bytes, written directly in key order: the same text as serialising a JSON object with
        /// sorted keys, without building and sorting one per entry (verify hashes every entry, import writes one
        /// per record).
        package var canonicalBytes: [UInt8] {
            var w = JSONWriter.compact()
            w.out.reserveCapacity(256 + (after?.utf8.count ?? 0) * 5 / 4 + (before?.utf8.count ?? 0) * 5 / 4)
            w.raw("{\"action\":"); w.writeString(action)
            w.raw(",\"actor\":"); w.writeString(actor)
            w.raw(",\"after\":"); w.write(after)
            w.raw(",\"at\":"); w.out.append(contentsOf: String(at).utf8)
            w.raw(",\"before\":"); w.write(before)
            w.raw(",\"command\":"); w.writeString(command)
            w.raw(",\"entity_id\":"); w.writeString(entityID)
            w.raw(",\"entity_kind\":"); w.writeString(entityKind)
            w.raw(",\"prev_hash\":"); w.writeString(prevHash)
            w.raw(",\"seq\":"); w.out.append(contentsOf: String(seq).utf8)
            w.raw("}")
            return w.out
        }

        public var computedHash: String { SHA256.hex(bytes: canonicalBytes) }

        /// The values of `AuditLog.columns`.
        package var storedValues: [SQLValue] {
            [.int(seq), .int(at), .text(actor), .text(command), .text(action), .text(entityKind), .text(entityID),
             before.sql, after.sql, .text(prevHash), .text(hash)]
        }

        package init(row: Row) throws(DatabaseError) {
            seq = try row.int("seq") ?? 0
            at = try row.int("at") ?? 0
            actor = try row.string("actor")
            command = try row.string("command")
            action = try row.string("action")
            entityKind = try row.string("entity_kind")
            entityID = try row.string("entity_id")
            before = try row.text("before")
            after = try row.text("after")
            prevHash = try row.string("prev_hash")
            hash = try row.string("hash")
        }

        public init(seq: Int64, at: Instant, actor: String, command: String, action: String, entityKind: String,
                    entityID: String, before: String?, after: String?, prevHash: String) {
            self.seq = seq; self.at = at; self.actor = actor; self.command = command; self.action = action
            self.entityKind = entityKind; self.entityID = entityID; self.before = before; self.after = after
            self.prevHash = prevHash; self.hash = ""
            self.hash = computedHash
        }
    }

    /// The state a chain link needs from the previous entry: read once per transaction, then carried along so a
    /// bulk import does not re-query the head for every row.
    public struct Head: Sendable {
        public var seq: Int64
        public var hash: String
    }

    public static func head(_ db: Database) throws -> Head {
        if let row = try db.row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1") {
            return Head(seq: try row.int("seq") ?? 0, hash: try row.string("hash"))
        }
        return Head(seq: 0, hash: genesisHash)
    }

    /// Appends one entry. `before`/`after` are the entity's snapshots (nil when it did not / no longer exists).
    @discardableResult
    public static func append(_ db: Database, _ context: AuditContext, action: String, entityKind: String,
                              entityID: String, before: JSON?, after: JSON?, head: inout Head) throws -> Entry {
        let entry = Entry(seq: head.seq + 1, at: context.at, actor: context.actor, command: context.command,
                          action: action, entityKind: entityKind, entityID: entityID,
                          before: before.map { $0.serialized(sortedKeys: true) },
                          after: after.map { $0.serialized(sortedKeys: true) }, prevHash: head.hash)
        try insert(db, entry)
        head = Head(seq: entry.seq, hash: entry.hash)
        return entry
    }

    /// Appends one entry whose snapshots are already serialised (`snapshotText`: the text `append` would store).
    @discardableResult
    public static func append(_ db: Database, _ context: AuditContext, action: String, entityKind: String,
                              entityID: String, beforeText: String?, afterText: String?, head: inout Head) throws -> Entry {
        let entry = chained(context, action: action, entityKind: entityKind, entityID: entityID,
                            beforeText: beforeText, afterText: afterText, head: &head)
        try insert(db, entry)
        return entry
    }

    /// The next entry on `head`, which moves to it; written by the caller (`insert(_:entries:)` for a batch).
    package static func chained(_ context: AuditContext, action: String, entityKind: String, entityID: String,
                                beforeText: String?, afterText: String?, head: inout Head) -> Entry {
        let entry = Entry(seq: head.seq + 1, at: context.at, actor: context.actor, command: context.command,
                          action: action, entityKind: entityKind, entityID: entityID,
                          before: beforeText, after: afterText, prevHash: head.hash)
        head = Head(seq: entry.seq, hash: entry.hash)
        return entry
    }

    /// The stored columns, in the order of `Entry.storedValues` and of the literal INSERT (held equal by a test).
    package static let columns = ["seq", "at", "actor", "command", "action", "entity_kind", "entity_id", "before", "after",
                                  "prev_hash", "hash"]

    package static let insertSQL: StaticString = """
        INSERT INTO audit_log (seq, at, actor, command, action, entity_kind, entity_id, before, after, prev_hash, hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    package static func insert(_ db: Database, _ entry: Entry) throws {
        try db.execute(literal: insertSQL, entry.storedValues)
    }

    /// Entries already chained (a batch of an import), written at once in seq order.
    package static func insert(_ db: Database, entries: [Entry]) throws {
        var values: [SQLValue] = []
        values.reserveCapacity(entries.count * columns.count)
        for entry in entries { values.append(contentsOf: entry.storedValues) }
        try db.insertRows(into: "audit_log", columns: columns, values: values)
    }

    /// Appends one entry, reading the head first (single writes).
    @discardableResult
    public static func append(_ db: Database, _ context: AuditContext, action: String, entityKind: String,
                              entityID: String, before: JSON?, after: JSON?) throws -> Entry {
        var current = try head(db)
        return try append(db, context, action: action, entityKind: entityKind, entityID: entityID,
                          before: before, after: after, head: &current)
    }
}
