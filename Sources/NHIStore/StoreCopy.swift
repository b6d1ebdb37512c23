import NHIBasics
#if canImport(Glibc)
import Glibc
#endif

/// `nhi store copy` (issue 18): a whole store copied into an empty one, SQLite or PostgreSQL either way. The tables,
/// their columns and the order that satisfies their foreign keys are read from the schema itself (its catalog), so a
/// table or column a later migration adds is copied without a list to keep in step. Rows keep their keys (rowids,
/// audit sequence numbers), so the audit chain and history are the same rows on both sides and `audit head` agrees.
/// Rows stream through in batches: a million tokens never sit in memory at once.
public enum StoreCopy {
    /// The tables copied, in copy order, with the rows each held.
    public struct Copied: Sendable {
        public var tables: [(name: String, rows: Int)] = []
        public var rows: Int { tables.reduce(0) { $0 + $1.rows } }
    }

    /// Bookkeeping tables that each engine's migrations write for themselves (PostgreSQL's schema version).
    static let ownBookkeeping: Set<String> = ["nhi_schema_version"]

    /// Opens the copy's target for writing: a SQLite file that does not exist yet (or has zero bytes) is created 0600; a
    /// PostgreSQL schema must hold no table. Anything else is refused (exit 3) before anything is written to it.
    public static func openTarget(_ location: String) throws(NHIError) -> Store {
        if Store.isPostgres(location) {
            let db: Database
            do { db = try Database(postgres: location) } catch { throw .store("cannot open the target: \(error.message)") }
            let tables: Int64
            do {
                tables = try db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").int ?? 0
            } catch {
                throw .store("cannot read the target (\(db.path)): \((error as? DatabaseError)?.message ?? "\(error)")")
            }
            if tables > 0 {
                throw .data("the target \(db.path) is not empty: its schema holds \(tables) tables; store copy writes only into an empty schema (give another one, e.g. with options=-csearch_path=NAME)")
            }
        } else {
            var info = stat()
            if stat(location, &info) == 0 {
                if (info.st_mode & S_IFMT) != S_IFREG || info.st_size > 0 {
                    throw .data("the target '\(Redaction.printable(path: location))' already exists and is not empty; store copy writes only into a new file")
                }
                // A zero-byte file (mktemp's, touch's) holds nothing; SQLite reads it as an empty database. It is
                // taken as no file: replaced by a new one, mode 0600 whatever its own, removed if the copy fails.
                if unlink(location) != 0 && errno != ENOENT {
                    throw .data("cannot replace the empty target '\(Redaction.printable(path: location))': \(String(cString: strerror(errno)))")
                }
            }
        }
        return try Store.open(path: location, access: .write)
    }

    /// Copies every row of `source` into `target` in one write transaction on the target, inside one read
    /// transaction (one snapshot) on the source. `check` runs last, inside both, before the target commits (the
    /// caller compares the audit heads there). When anything throws, the target's transaction is rolled back.
    public static func copy(from source: Store, to target: Store, check: (Database, Database) throws -> Void) throws -> Copied {
        let version = source.schemaVersion
        guard version == target.schemaVersion, version == Schema.currentVersion else {
            throw NHIError.store("the source store is at schema version \(version) and the target at \(target.schemaVersion); both must be at \(Schema.currentVersion)")
        }
        return try source.db.readTransaction {
            let tables = try orderedTables(source.db)
            let targetTables = try Set(tableNames(target.db))
            guard Set(tables) == targetTables else {
                throw NHIError.store("the source and target schemas hold different tables (source: \(tables.sorted().joined(separator: ", ")); target: \(targetTables.sorted().joined(separator: ", ")))")
            }
            return try target.db.writeTransaction {
                var copied = Copied()
                for table in tables {
                    if try target.db.row("SELECT 1 AS one FROM \(SQLName.quoted(table)) LIMIT 1") != nil {
                        throw NHIError.data("the target \(target.path) is not empty: table \(table) holds rows; store copy writes only into an empty store")
                    }
                    let columns = try copiedColumns(table, source: source.db, target: target.db)
                    copied.tables.append((table, try copyRows(table, columns: columns, from: source.db, to: target.db)))
                }
                if target.db.dialect == .postgres { try advanceIdentities(target.db) }
                try check(source.db, target.db)
                return copied
            }
        }
    }

    // MARK: The schema, read from the catalog

    /// The store's tables (not the engine's own, nor bookkeeping each engine writes for itself).
    static func tableNames(_ db: Database) throws -> [String] {
        let sql = db.dialect == .postgres
            ? "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
            : "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY 1"
        return try db.rows(sql).map { try $0.string("name") }.filter { !ownBookkeeping.contains($0) }
    }

    /// The tables each table's foreign keys refer to.
    static func parents(_ table: String, _ db: Database) throws -> Set<String> {
        let sql = db.dialect == .postgres
            ? "SELECT CAST(p.relname AS TEXT) AS name FROM pg_constraint k JOIN pg_class p ON p.oid = k.confrelid WHERE k.contype = 'f' AND k.conrelid = to_regclass(:table)"
            : "SELECT DISTINCT \"table\" AS name FROM pragma_foreign_key_list(:table)"
        return Set(try db.rows(sql, .named(["table": .text(quotedIfPostgres(table, db))])).map { try $0.string("name") })
    }

    private static func quotedIfPostgres(_ table: String, _ db: Database) -> String {
        db.dialect == .postgres ? SQLName.quoted(table) : table
    }

    /// The tables in an order where each comes after the tables it refers to (by name among equals: the same
    /// order on every run).
    static func orderedTables(_ db: Database) throws -> [String] {
        let names = try tableNames(db)
        var pending = try Dictionary(uniqueKeysWithValues: names.map { ($0, try parents($0, db).subtracting([$0])) })
        var ordered: [String] = []
        while !pending.isEmpty {
            let ready = pending.filter { $0.value.allSatisfy { !pending.keys.contains($0) } }.keys.sorted()
            guard !ready.isEmpty else {
                throw NHIError.store("the tables \(pending.keys.sorted().joined(separator: ", ")) refer to each other in a cycle; store copy cannot order them")
            }
            for name in ready { ordered.append(name); pending[name] = nil }
        }
        return ordered
    }

    /// The columns a row is written with: every column that is not computed (generated columns are recomputed
    /// by the target). SQLite's implicit rowid is not declared; it is copied too when the other side declares it
    /// (PostgreSQL's `rowid` columns stand for it), or when both sides are SQLite.
    struct TableColumns {
        var names: [String]
        var hasImplicitRowid: Bool
    }

    static func declaredColumns(_ table: String, _ db: Database) throws -> TableColumns {
        if db.dialect == .postgres {
            let rows = try db.rows("""
                SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns
                WHERE table_schema = current_schema() AND CAST(table_name AS TEXT) = :table AND is_generated = 'NEVER'
                ORDER BY ordinal_position
                """, .named(["table": .text(table)]))
            return TableColumns(names: try rows.map { try $0.string("name") }, hasImplicitRowid: false)
        }
        // table_info lists neither generated nor hidden columns.
        let rows = try db.rows("SELECT name, upper(type) AS type, pk FROM pragma_table_info(:table) ORDER BY cid", .named(["table": .text(table)]))
        let keys = try rows.filter { try ($0.int("pk") ?? 0) > 0 }
        let aliasesRowid = try keys.count == 1 && keys[0].string("type") == "INTEGER"
        return TableColumns(names: try rows.map { try $0.string("name") }, hasImplicitRowid: !aliasesRowid)
    }

    static func copiedColumns(_ table: String, source: Database, target: Database) throws -> [String] {
        var from = try declaredColumns(table, source)
        var to = try declaredColumns(table, target)
        let bothSQLite = source.dialect == .sqlite && target.dialect == .sqlite
        if from.hasImplicitRowid && (bothSQLite || to.names.contains("rowid")) { from.names.insert("rowid", at: 0) }
        if to.hasImplicitRowid && (bothSQLite || from.names.contains("rowid")) { to.names.insert("rowid", at: 0) }
        guard Set(from.names) == Set(to.names) else {
            throw NHIError.store("table \(table) has different columns in the source (\(from.names.joined(separator: ", "))) and the target (\(to.names.joined(separator: ", ")))")
        }
        return from.names
    }

    // MARK: Rows

    /// Rows gathered before each write into the target (`Database.insertRows`: COPY on PostgreSQL, multi-row
    /// INSERTs on SQLite): memory stays bounded, and a write is few round trips.
    static let rowsPerWrite = 4096

    static func copyRows(_ table: String, columns: [String], from source: Database, to target: Database) throws -> Int {
        let list = columns.map(SQLName.quoted).joined(separator: ", ")
        var values: [SQLValue] = []
        values.reserveCapacity(rowsPerWrite * columns.count)
        var pendingRows = 0
        var total = 0
        func flush() throws {
            guard pendingRows > 0 else { return }
            total += try target.insertRows(into: table, columns: columns, values: values)
            values.removeAll(keepingCapacity: true)
            pendingRows = 0
        }
        func add(_ row: Row) throws {
            values.append(contentsOf: row.values)
            pendingRows += 1
            if pendingRows == rowsPerWrite { try flush() }
        }
        let select = "SELECT \(list) FROM \(SQLName.quoted(table))"
        // On PostgreSQL the engine reads a scan inside the read transaction through a cursor, a FETCH at a time.
        try source.forEachRow(select) { try add($0) }
        try flush()
        return total
    }

    /// Identity columns were given their values: their sequences go on after the largest, so the next insert on
    /// the copy does not collide with a copied key.
    static func advanceIdentities(_ db: Database) throws {
        let identities = try db.rows("""
            SELECT CAST(table_name AS TEXT) AS tbl, CAST(column_name AS TEXT) AS col FROM information_schema.columns
            WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY 1, 2
            """)
        for identity in identities {
            let table = try identity.string("tbl"), column = try identity.string("col")
            try db.execute("SELECT setval(pg_get_serial_sequence(:table, :column), coalesce((SELECT max(\(SQLName.quoted(column))) FROM \(SQLName.quoted(table))), 0) + 1, false)",
                           .named(["table": .text(SQLName.quoted(table)), "column": .text(column)]))
        }
    }
}
