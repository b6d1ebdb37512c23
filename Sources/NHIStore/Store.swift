import NHIBasics
import NHIPostgres
#if canImport(Glibc)
import Glibc
#endif

/// The inventory file: opening it by the SPEC's rules (who may create it, which versions open),
/// migrations, and removal of a file this command created when the command fails.
public final class Store {
    public let db: Database
    public let path: String
    /// True when this process created the file, so a failed command can remove it again.
    public let createdFile: Bool

    public enum Access: Sendable { case read, write }

    private init(db: Database, path: String, createdFile: Bool) {
        self.db = db
        self.path = path
        self.createdFile = createdFile
    }

    /// An in-memory store with the current schema, for tests.
    public static func inMemory() throws -> Store {
        let db = try Database(path: ":memory:", mode: .memory)
        try db.executeScript("PRAGMA foreign_keys = ON")
        let store = Store(db: db, path: ":memory:", createdFile: false)
        try store.migrate()
        return store
    }

    /// Whether `--db` / `NHI_DB` names a PostgreSQL server (a libpq URI) rather than a SQLite file.
    public static func isPostgres(_ location: String) -> Bool {
        let lower = location.prefix(16).lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// How a `--db` value is shown in messages and outputs: a SQLite path as given; a PostgreSQL URI as its target
    /// (host, port, database, user), never its password.
    public static func shown(_ location: String) -> String {
        isPostgres(location) ? PGConnectionTarget.describe(location) : location
    }

    /// Whether a PostgreSQL URI holds a store (a schema nhi has created); true when the server cannot be asked,
    /// so that opening it reports why.
    public static func postgresHoldsStore(_ uri: String) -> Bool {
        guard let db = try? Database(postgres: uri) else { return true }
        return Store(db: db, path: db.path, createdFile: false).schemaVersion > 0
    }

    public static func open(path: String, access: Access) throws(NHIError) -> Store {
        if isPostgres(path) { return try openPostgres(uri: path, access: access) }
        var info = stat()
        var created = false
        if stat(path, &info) != 0 {
            guard errno == ENOENT else {
                throw .store("cannot read the store '\(Redaction.printable(path: path))': \(String(cString: strerror(errno)))")
            }
            guard access == .write else {
                throw .data("no store at '\(Redaction.printable(path: path))' (give the right --db PATH or set NHI_DB; a store is created by the first command that writes, e.g. 'nhi owner add')")
            }
            created = try createEmptyFile(path)
        } else if (info.st_mode & S_IFMT) != S_IFREG {
            throw .store("'\(Redaction.printable(path: path))' is not a regular file")
        } else if Glibc.access(path, R_OK) != 0 {
            throw .store("cannot read the store '\(Redaction.printable(path: path))': permission denied")
        }

        let db: Database
        do {
            db = try Database(path: path, mode: access == .read && !created ? Store.readMode(path) : .readWrite)
        } catch {
            if created { removeFiles(path) }
            throw .store("cannot open the store '\(Redaction.printable(path: path))': \(error.message)")
        }
        var store = Store(db: db, path: path, createdFile: created)
        do {
            // A store from an older nhi is migrated by whichever command opens it first, a read included.
            if access == .read && !created && store.schemaVersion < Schema.currentVersion && store.schemaVersion > 0 {
                store = Store(db: try Database(path: path, mode: .readWrite), path: path, createdFile: false)
            }
            try store.prepare(access: access)
        } catch let error as NHIError {
            if created { store.removeFiles() }
            throw error
        } catch let error as DatabaseError {
            if created { store.removeFiles() }
            if error.kind == .notADatabase || error.kind == .corrupt {
                throw .store("'\(Redaction.printable(path: path))' is not an nhi store or is corrupt: \(error.message)")
            }
            throw error.asNHIError
        } catch {
            if created { store.removeFiles() }
            throw .store("cannot open the store '\(Redaction.printable(path: path))': \(error)")
        }
        return store
    }

    /// A store on a PostgreSQL server: libpq parses the URI and reads PGPASSWORD and ~/.pgpass; the store's
    /// `path` (what messages show) is the target without the password. Nothing is created or removed on failure
    /// but the schema, whose migrations are each one transaction.
    private static func openPostgres(uri: String, access: Access) throws(NHIError) -> Store {
        let db: Database
        do {
            db = try Database(postgres: uri)
        } catch {
            throw .store("cannot open the store: \(error.message)")
        }
        let empty: Bool
        do {
            empty = try Store.isEmptySchema(db)
        } catch {
            throw .store("cannot open the store (\(db.path)): \((error as? DatabaseError)?.message ?? "\(error)")")
        }
        // As with a new file, a store whose schema this command creates is removed again when the command fails.
        let store = Store(db: db, path: db.path, createdFile: empty && access == .write)
        do {
            try store.preparePostgres(access: access)
        } catch let error as NHIError {
            throw error
        } catch let error as DatabaseError {
            throw error.asNHIError
        } catch {
            throw .store("cannot open the store (\(db.path)): \(error)")
        }
        return store
    }

    private static func isEmptySchema(_ db: Database) throws -> Bool { try tableCount(db) == 0 }

    private static func tableCount(_ db: Database) throws -> Int64 {
        try db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()").int ?? 0
    }

    /// What opens, on either engine: a store from a newer nhi never; tables without an nhi version are someone
    /// else's; an empty file or schema only for a command that writes (it creates the store).
    private func checkOpenable(version: Int32, tables: Int64, access: Access) throws(NHIError) {
        let postgres = db.dialect == .postgres
        let shown = postgres ? "the store (\(path))" : "'\(Redaction.printable(path: path))'"
        if version > Schema.currentVersion {
            throw .store("\(shown) was written by a newer nhi (schema version \(version); this nhi knows up to \(Schema.currentVersion)); upgrade nhi")
        }
        guard version == 0 else { return }
        if tables > 0 {
            throw .store(postgres ? "the PostgreSQL schema (\(path)) holds tables but no nhi store (give the right --db URI, or a schema of its own with options=-csearch_path=...)"
                                  : "\(shown) is a SQLite file but not an nhi store")
        }
        guard access == .write else {
            throw .data(postgres ? "no store at \(path): the schema is empty (a store is created by the first command that writes, e.g. 'nhi owner add')"
                                 : "\(shown) is empty, not an nhi store (give the right --db PATH)")
        }
    }

    private func preparePostgres(access: Access) throws {
        // Tables first, then the version: a first writer elsewhere commits its tables and version row together, so
        // tables seen here mean its version row is visible too (read the other way round, a race saw neither-then-both).
        let tables = try Store.tableCount(db)
        let version = schemaVersion
        try checkOpenable(version: version, tables: tables, access: access)
        if version < Schema.currentVersion { try migrate() }
    }

    /// How a command that only reads opens the file: read-only, so a write-protected copy (mode 0400, an
    /// auditor's evidence) can be read; and immutable when its directory is read-only and there is no -wal:
    /// SQLite opens a read-only WAL-mode file only where the -shm and -wal exist or can be created (Docs/store.md).
    /// A -wal that exists holds committed pages, so then the file is opened read-only, never immutable.
    package static func readMode(_ path: String) -> Database.OpenMode {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        var info = stat()
        let walExists = stat(path + "-wal", &info) == 0
        return !walExists && Glibc.access(directory, W_OK) != 0 ? .readOnlyImmutable : .readOnly
    }

    /// Creates the file with mode 0600 before SQLite opens it, so the inventory is never world-readable.
    private static func createEmptyFile(_ path: String) throws(NHIError) -> Bool {
        let fd = Glibc.open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        if fd < 0 {
            if errno == EEXIST { return false } // another process created it first: use theirs
            let reason = String(cString: strerror(errno))
            let shown = Redaction.printable(path: path)
            if errno == ENOENT, let slash = path.lastIndex(of: "/") {
                // The folder is missing (`export NHI_DB=~/inventory/nhi.db` before ~/inventory exists): name the fix.
                let folder = Redaction.printable(path: String(path[..<slash]).isEmpty ? "/" : String(path[..<slash]))
                throw .data("cannot create the store '\(shown)': its folder '\(folder)' does not exist (create it with: mkdir -p '\(folder)')")
            }
            throw .data("cannot create the store '\(shown)': \(reason)")
        }
        fchmod(fd, 0o600)
        close(fd)
        return true
    }

    private func prepare(access: Access) throws {
        try db.executeScript("PRAGMA foreign_keys = ON")
        // Version and table count in one statement, so both come from one snapshot: read separately, another
        // process could finish creating the schema in between and the file would look foreign.
        let state = try db.row("SELECT (SELECT user_version FROM pragma_user_version) AS version, (SELECT count(*) FROM sqlite_schema) AS tables")
        let version = Int32(truncatingIfNeeded: try state?.int("version") ?? 0)
        try checkOpenable(version: version, tables: try state?.int("tables") ?? 0, access: access)
        if version == 0 {
            // WAL lets readers run while one writer writes; it persists in the file.
            _ = try db.scalar("PRAGMA journal_mode = WAL")
        }
        if version < Schema.currentVersion { try migrate() }
        try db.executeScript("PRAGMA synchronous = NORMAL")
        // SQLite's default page cache (2 MiB). 32 MiB paid off while reports sought each token's owner and agent;
        // they now read those once, the scans read in storage order, and at a million tokens the larger cache only
        // filled up (30 MB of check's peak RSS) without saving CPU (Docs/benchmarks.md, "Peak memory").
        try db.executeScript("PRAGMA cache_size = -2048")
    }

    /// Applies each pending migration as GRDB's migrator does: foreign keys off (a migration that rebuilds a table
    /// must not cascade or fail halfway), then in its own immediate transaction the migration, a
    /// `PRAGMA foreign_key_check` that refuses to commit a migration leaving a dangling reference, and the version
    /// bump; then foreign keys on again. The version is re-read inside the transaction, so two processes opening
    /// an old file migrate it once. `migrations` is a parameter only so tests can add a later step.
    func migrate(_ migrations: [(version: Int32, sql: String)]? = nil) throws {
        if db.dialect == .postgres { return try migratePostgres(migrations ?? Schema.postgresMigrations) }
        let migrations = migrations ?? Schema.migrations
        try db.executeScript("PRAGMA foreign_keys = OFF")
        defer { try? db.executeScript("PRAGMA foreign_keys = ON") }
        for migration in migrations {
            try db.writeTransaction {
                let current = Int32(try db.scalar("PRAGMA user_version").int ?? 0)
                guard current < migration.version else { return }
                try db.executeScript(migration.sql)
                if let violation = try db.row("SELECT \"table\" AS tbl, rowid AS row, parent FROM pragma_foreign_key_check LIMIT 1") {
                    throw NHIError.store("migration \(migration.version) would leave \(try violation.string("tbl")) row \(try violation.int("row") ?? 0) referring to a missing \(try violation.string("parent")) row; the store is unchanged")
                }
                try db.executeScript("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    /// PostgreSQL has no `user_version`: each applied migration is a row of `nhi_schema_version`, written in the
    /// migration's transaction (which holds the write lock, so two processes migrate a store once). Foreign keys
    /// stay on: a PostgreSQL migration never rebuilds a referenced table, and its constraints are checked at once.
    private func migratePostgres(_ migrations: [(version: Int32, sql: String)]) throws {
        let applied = schemaVersion
        for migration in migrations where migration.version > applied {
            try db.writeTransaction {
                try db.executeScript("CREATE TABLE IF NOT EXISTS nhi_schema_version (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
                let current = Int32(truncatingIfNeeded: try db.scalar("SELECT coalesce(max(version), 0) FROM nhi_schema_version").int ?? 0)
                guard current < migration.version else { return }
                try db.executeScript(migration.sql)
                try db.execute("INSERT INTO nhi_schema_version (version, applied_at) VALUES (:version, CAST(extract(epoch FROM now()) AS BIGINT))",
                               ["version": .int(Int64(migration.version))])
            }
        }
    }

    public var schemaVersion: Int32 {
        if db.dialect == .postgres {
            // A missing table would abort an open transaction: ask whether it exists first.
            guard (try? db.scalar("SELECT to_regclass('nhi_schema_version') IS NOT NULL").int) == 1 else { return 0 }
            return Int32(truncatingIfNeeded: (try? db.scalar("SELECT coalesce(max(version), 0) FROM nhi_schema_version").int) ?? 0)
        }
        return Int32(truncatingIfNeeded: (try? db.scalar("PRAGMA user_version").int) ?? 0)
    }

    /// Removes a file this process created (and its WAL companions): a failed command leaves no new store behind.
    public func removeFiles() {
        if db.dialect == .sqlite { Store.removeFiles(path) }
    }

    /// After a failed command: removes the file this process created, unless another process has meanwhile
    /// committed a write to it (every write appends an audit entry, so an empty log means nobody has).
    public func removeIfCreatedAndUnused() {
        guard createdFile else { return }
        if db.dialect == .postgres { return dropCreatedSchemaIfUnused() }
        let entries = (try? db.scalar("SELECT count(*) FROM audit_log").int) ?? 0
        if entries == 0 { removeFiles() }
    }

    /// PostgreSQL's `removeIfCreatedAndUnused`: under the write lock, and only while no process has committed an
    /// audit entry, drops what the migrations made in the schema (which was empty when this command began).
    private func dropCreatedSchemaIfUnused() {
        try? db.writeTransaction {
            guard try db.scalar("SELECT count(*) FROM audit_log").int == 0 else { return }
            let tables = try db.rows("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")
            for table in tables {
                let name = try table.string("table_name")
                try db.executeScript("DROP TABLE IF EXISTS \"\(name.replacing("\"", with: "\"\""))\" CASCADE")
            }
            try db.executeScript("DROP FUNCTION IF EXISTS nhi_append_only() CASCADE")
        }
    }

    package static func removeFiles(_ path: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { unlink(path + suffix) }
    }

    /// Keeps query plans sane after bulk writes (the SQLite docs advise it before closing).
    public func optimize() {
        try? db.executeScript(db.dialect == .postgres ? "ANALYZE" : "PRAGMA optimize")
    }
}
