import NHIBasics
import NHIFormats
import NHIStore

/// The store's history (issue 14; Docs/history.md), after SQL:2011 system-versioned tables as MariaDB implements
/// them: current rows stay in their tables, each superseded version sits in `<table>_history` with the system-time
/// interval [valid_from, valid_to) in which the inventory held it.
public enum History {
    /// One versioned table: the audit entity kind whose entries change it, the current table, its columns, and
    /// the audit snapshot of a row of it (a current row or a version: `audit verify` compares it with the trail).
    public struct Versioned: Sendable {
        public let kind: String
        public let table: String
        public let columns: [String]
        package let snapshot: @Sendable (Row) throws -> JSON
        public var historyTable: String { table + "_history" }
    }

    /// Every versioned table, in one place: the write path, the as-of views and `audit verify` read this list.
    /// A new versioned entity is one line here plus its `_history` table in a migration.
    public static let versioned: [Versioned] = [
        Versioned(kind: "owner", table: "owners", columns: OwnerColumn.allCases.map(\.name)) { try Owner(row: $0).snapshot },
        Versioned(kind: "agent", table: "agents", columns: AgentColumn.allCases.map(\.name)) { try Agent(row: $0).snapshot },
        Versioned(kind: "token", table: "tokens", columns: TokenColumn.allCases.map(\.name)) { try Token(row: $0).snapshot },
        // Migration 7: systems (freezes, role owners) and exceptions are part of the history (SPEC 'Time').
        Versioned(kind: "system", table: "systems", columns: SystemColumn.allCases.map(\.name)) { try GovernedSystem(row: $0).snapshot },
        Versioned(kind: "exception", table: "exceptions", columns: ExceptionColumn.allCases.map(\.name)) { try StateException(row: $0).snapshot },
    ]

    public static func versioned(kind: String) -> Versioned? { versioned.first { $0.kind == kind } }

    /// The newest entry of `kind`/`id` before the one being appended: it made the version that is now current
    /// (none when the row predates its audit trail, e.g. rows written by a bulk load without entries).
    static func currentVersionStart(_ db: Database, kind: String, id: String) throws -> (seq: Int64, at: Instant)? {
        guard let row = try db.row("""
            SELECT seq, at FROM audit_log WHERE entity_kind = :kind AND entity_id = :id ORDER BY seq DESC LIMIT 1
            """, ["kind": .text(kind), "id": .text(id)]) else { return nil }
        return (try row.int("seq") ?? 0, try row.int("at") ?? 0)
    }

    /// Moves the current version of a row into its history table, ended by the audit entry `endedBySeq` at `at`.
    /// Called by every write that changes a versioned row, in its transaction and just before its audit entry, with
    /// the row's values before the change (`before`, in `columns` order).
    package static func close(_ db: Database, kind: String, id: String, before: [SQLValue], endedBySeq: Int64,
                              at: Instant) throws {
        guard let versioned = versioned(kind: kind) else { return }
        let start = try currentVersionStart(db, kind: kind, id: id)
        var values: [String: SQLValue] = ["ended_by_seq": .int(endedBySeq), "valid_to": .int(at),
                                          "made_by_seq": start.map { .int($0.seq) } ?? .null,
                                          "valid_from": start.map { .int($0.at) } ?? .null]
        for (column, value) in zip(versioned.columns, before) { values[column] = value }
        let names = ["ended_by_seq", "made_by_seq", "valid_from", "valid_to"] + versioned.columns
        try db.execute("INSERT INTO \(versioned.historyTable) (\(names.joined(separator: ", "))) VALUES ("
                       + names.map { ":" + $0 }.joined(separator: ", ") + ")", .named(values))
    }

    /// The latest instant at which the inventory changed: every change appends an audit entry (usage and reviews
    /// too), so no record differs from its version as of any instant at or after this one.
    public static func newestChange(_ db: Database) throws -> Instant? {
        try db.scalar("SELECT max(at) FROM audit_log").int
    }

    /// Shadows the inventory's tables, for this connection, with TEMP views of the inventory as recorded at `t`
    /// (SQLite resolves an unqualified name in `temp` first, PostgreSQL in `pg_temp`), so every read — the state
    /// scan, the lists and shows, export, each report's own queries — sees the past through its unchanged SQL. Does
    /// nothing when nothing changed after `t` (as of now or the future the current rows are the answer: no extra work).
    ///
    /// A read as of `t` differs from the current rows only in the rows changed after `t` (SQL:2011's rows whose
    /// period starts after `t`), so that is what is worked out, once per invocation: `<table>_as_of`, a TEMP table of
    /// the current rowids and ids of the entities with an audit entry after `t` (one range of `audit_by_kind_time`),
    /// each with the history version in force at `t` (`version`, its `ended_by_seq`; null when the entity did not exist
    /// then). Each view is then the current rows not in that set, plus those versions under their current row's
    /// rowid (the state scan keys tokens by rowid): no statement probes the audit log or the periods again.
    /// `t` is an Instant (an integer), written into the SQL because a view takes no parameters.
    /// Returns whether views were installed.
    @discardableResult
    public static func installAsOf(_ db: Database, _ t: Instant) throws -> Bool {
        guard let newest = try newestChange(db), newest > t else { return false }
        let (main, temp) = (db.mainSchema, db.tempSchema)
        let (key, text) = db.dialect == .postgres ? ("BIGINT PRIMARY KEY", "TEXT COLLATE \"C\"") : ("INTEGER PRIMARY KEY", "TEXT")
        for v in versioned {
            let changed = "\(v.table)_as_of"
            // One compound SELECT (no outer query around it), so SQLite pushes the callers' WHERE into each arm.
            func select(_ source: String, current: Bool) -> String {
                var select = v.columns
                if v.kind == "token" {
                    // Last use as recorded by t: the version's own value when it is not after t (recorded uses only move
                    // it forward, so it already holds every use recorded before the version ended), else the latest use
                    // at or before t recorded by t. A current row that was never used has none then either.
                    // Docs/history.md says what this misses.
                    let never = current ? "\(source).last_used_at IS NULL OR " : ""
                    select = select.map { $0 == "last_used_at" ? """
                        CASE WHEN \(never)\(source).last_used_at <= \(t) THEN \(source).last_used_at ELSE (SELECT max(u.at) FROM \(main).usage u
                            WHERE u.token_id = \(source).id AND u.at <= \(t) AND u.recorded_at <= \(t)) END AS last_used_at
                        """ : "\(source).\($0)" }
                    // A current row's stored due dates, so the reports' conditions on them keep their indexes; a version's
                    // computed with the same (integer) affinity: SQLite flattens a compound view into the query reading it
                    // only when its parts' columns agree in affinity (else it builds every row of the view, each column).
                    select += current ? ["\(source).rotation_due_at", "\(source).review_due_at"]
                        : ["CAST(coalesce(\(source).last_rotated_at, \(source).issued_at) + \(source).rotate_every AS BIGINT) AS rotation_due_at",
                           "CAST(coalesce(\(source).last_reviewed_at, \(source).issued_at) + \(source).review_every AS BIGINT) AS review_due_at"]
                } else {
                    select = select.map { "\(source).\($0)" }
                }
                if !current { select[v.columns.firstIndex(of: "id")!] = "a.id" }
                return select.joined(separator: ", ")
            }
            // The versions in force at t first (every one was ended after t, so its entity is in the set), then the
            // entities changed after t that did not exist at t. The history arm reads this set first (CROSS JOIN: it
            // holds only what changed after t, the history every version ever) and takes the id from it, so a read
            // of one entity by id finds it through this table's index.
            try db.executeScript("""
                DROP VIEW IF EXISTS \(temp).\(v.table);
                DROP TABLE IF EXISTS \(temp).\(changed);
                CREATE TEMP TABLE \(changed) (rowid \(key), id \(text) NOT NULL UNIQUE, version BIGINT);
                INSERT INTO \(temp).\(changed) (rowid, id, version)
                    SELECT c.rowid, c.id, h.ended_by_seq FROM \(main).\(v.historyTable) h JOIN \(main).\(v.table) c ON c.id = h.id
                    WHERE h.valid_to > \(t) AND coalesce(h.valid_from, \(Int64.min)) <= \(t);
                INSERT INTO \(temp).\(changed) (rowid, id, version)
                    SELECT c.rowid, c.id, NULL FROM \(main).\(v.table) c
                    WHERE c.id IN (SELECT entity_id FROM \(main).audit_log WHERE entity_kind = '\(v.kind)' AND at > \(t)
                                   AND entity_id NOT IN (SELECT id FROM \(temp).\(changed)));
                CREATE TEMP VIEW \(v.table) AS
                    SELECT c.rowid AS rowid, \(select("c", current: true)) \(currentPart(db, v))
                    UNION ALL
                    SELECT a.rowid, \(select("h", current: false)) \(historyPart(db, v));
                """)
        }
        try db.executeScript("""
            DROP VIEW IF EXISTS \(temp).reviews;
            CREATE TEMP VIEW reviews AS SELECT * FROM \(main).reviews WHERE at <= \(t);
            DROP VIEW IF EXISTS \(temp).usage;
            CREATE TEMP VIEW usage AS SELECT * FROM \(main).usage WHERE at <= \(t) AND recorded_at <= \(t);
            """)
        db.historyInstant = t
        return true
    }

    /// The as-of view's two parts after their select lists, one definition for the view and `distinctSQL`: the
    /// current rows (as `c`) not changed after the instant, and the versions in force then (as `h`, with `a` its row
    /// of `<table>_as_of`).
    private static func currentPart(_ db: Database, _ v: Versioned) -> String {
        "FROM \(db.mainSchema).\(v.table) c WHERE c.rowid NOT IN (SELECT rowid FROM \(db.tempSchema).\(v.table)_as_of)"
    }

    private static func historyPart(_ db: Database, _ v: Versioned) -> String {
        "FROM \(db.tempSchema).\(v.table)_as_of a CROSS JOIN \(db.mainSchema).\(v.historyTable) h WHERE h.ended_by_seq = a.version"
    }

    /// `SELECT DISTINCT column FROM table` (without nulls when `nonNull`) as this connection reads the table, for a
    /// column that the table and its history both store. As of a past instant it is the distinct values of each part
    /// of the view: SQLite runs a DISTINCT over a compound view by building every row of it, where each part alone
    /// reads an index (as of a past instant at 100k tokens, report systems' two DISTINCT took 0.16 s that way).
    public static func distinctSQL(_ db: Database, _ table: String, _ column: String, nonNull: Bool = false) -> String {
        guard db.historyInstant != nil, let v = versioned.first(where: { $0.table == table }) else {
            return "SELECT DISTINCT \(column) FROM \(table)" + (nonNull ? " WHERE \(column) IS NOT NULL" : "")
        }
        return "SELECT DISTINCT c.\(column) \(currentPart(db, v))" + (nonNull ? " AND c.\(column) IS NOT NULL" : "")
            + " UNION SELECT h.\(column) \(historyPart(db, v))" + (nonNull ? " AND h.\(column) IS NOT NULL" : "")
    }

    /// The number of rows of a versioned table as this connection reads it. As of a past instant that is the current
    /// rows less the entities that did not exist then, from the two tables' counts: a count over the view would
    /// build every row of it (SQLite counts a compound view by running it), the whole table's work for one number.
    public static func count(_ db: Database, _ table: String) throws -> Int64 {
        guard db.historyInstant != nil, versioned.contains(where: { $0.table == table }) else {
            return try db.scalar("SELECT count(*) FROM \(table)").int ?? 0
        }
        return try db.scalar("""
            SELECT (SELECT count(*) FROM \(db.mainSchema).\(table)) - (SELECT count(*) FROM \(db.tempSchema).\(table)_as_of WHERE version IS NULL)
            """).int ?? 0
    }
}
