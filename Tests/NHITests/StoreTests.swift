import Foundation
import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

@Suite struct StoreTests {
    final class TempDir {
        let path: String
        init() {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("nhi-store-\(UUID().uuidString)").path
            try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
    }

    func sqlite(_ path: String, _ sql: String) throws {
        let db = try Database(path: path, mode: .readWriteCreate)
        try db.executeScript(sql)
    }

    func expectError(_ kind: NHIError.Kind, _ body: () throws -> Void, containing text: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("no error", sourceLocation: sourceLocation)
        } catch let error as NHIError {
            #expect(error.kind == kind, sourceLocation: sourceLocation)
            #expect(error.message.contains(text), "\(error.message)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func aWriteOnAMissingFileCreatesTheCurrentSchemaWithMode0600AndWAL() throws {
        let dir = TempDir()
        let path = dir.file("nhi.db")
        let store = try Store.open(path: path, access: .write)
        #expect(store.createdFile)
        #expect(store.schemaVersion == Schema.currentVersion)
        #expect(try store.db.scalar("PRAGMA journal_mode").text == "wal")
        #expect(try store.db.scalar("PRAGMA foreign_keys").int == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let tables = try store.db.rows("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").map { try $0.string("name") }
        #expect(tables == ["agents", "agents_history", "audit_log", "exceptions", "exceptions_history", "owners", "owners_history",
                           "reviews", "systems", "systems_history", "tokens", "tokens_history", "usage"])
    }

    /// Strictly increasing from one. Numbers are handed to issues in advance, so a branch may carry 5 while 4 is
    /// still in flight on another; the merge renumbers when both land (Docs: the preamble's migration rule).
    @Test func migrationsAreNumberedInOrderFromOne() {
        let versions = Schema.migrations.map(\.version)
        #expect(versions.first == 1)
        #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test func indexesForTheReportQueriesExist() throws {
        let store = try Store.inMemory()
        let indexes = Set(try store.db.rows("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%'").map { try $0.string("name") })
        for name in ["tokens_by_owner", "tokens_by_agent", "tokens_by_expiry", "tokens_by_rotation_due", "tokens_by_review_due",
                     "agents_by_owner", "audit_by_entity", "usage_by_token", "reviews_by_token"] {
            #expect(indexes.contains(name), "\(name)")
        }
    }

    @Test func aReadOnAMissingFileIsADataErrorAndCreatesNothing() {
        let dir = TempDir()
        let path = dir.file("missing.db")
        expectError(.data, { _ = try Store.open(path: path, access: .read) }, containing: "no store at")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func anEmptyFileNeverReadsAsAnEmptyInventory() throws {
        let dir = TempDir()
        let path = dir.file("typo.db")
        _ = FileManager.default.createFile(atPath: path, contents: Data())
        expectError(.data, { _ = try Store.open(path: path, access: .read) }, containing: "is empty, not an nhi store")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == 0)
        // A write turns the empty file into a store.
        let store = try Store.open(path: path, access: .write)
        #expect(!store.createdFile)
        #expect(store.schemaVersion == Schema.currentVersion)
    }

    @Test func aNewerVersionIsRefusedAndLeftAlone() throws {
        let dir = TempDir()
        let path = dir.file("newer.db")
        try sqlite(path, "CREATE TABLE future (x); PRAGMA user_version = 99;")
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for access in [Store.Access.read, .write] {
            expectError(.store, { _ = try Store.open(path: path, access: access) }, containing: "newer nhi (schema version 99")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func notADatabaseIsAStoreError() throws {
        let dir = TempDir()
        let path = dir.file("notes.db")
        let text = String(repeating: "these are my notes, not a database\n", count: 200)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        for access in [Store.Access.read, .write] {
            expectError(.store, { _ = try Store.open(path: path, access: access) }, containing: "not an nhi store")
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
    }

    @Test func aForeignSQLiteFileIsRefused() throws {
        let dir = TempDir()
        let path = dir.file("other.db")
        try sqlite(path, "CREATE TABLE contacts (name TEXT)")
        expectError(.store, { _ = try Store.open(path: path, access: .write) }, containing: "not an nhi store")
        let db = try Database(path: path, mode: .readWrite)
        #expect(try db.scalar("PRAGMA user_version").int == 0)
        #expect(try db.scalar("SELECT count(*) FROM sqlite_schema").int == 1)
    }

    @Test func aDirectoryIsNotAStore() {
        let dir = TempDir()
        expectError(.store, { _ = try Store.open(path: dir.path, access: .read) }, containing: "not a regular file")
    }

    @Test func anOlderFileIsMigratedForwardKeepingItsRows() throws {
        let dir = TempDir()
        let path = dir.file("old.db")
        do {
            let store = try Store.open(path: path, access: .write)
            try store.db.execute("INSERT INTO owners (id, name, email, created_at, updated_at) VALUES ('alice', 'A', 'a@example.com', 0, 0)")
        }
        // A later nhi with one more migration opens the file.
        let store = try Store.open(path: path, access: .write)
        let later = Schema.currentVersion + 1
        let next: [(version: Int32, sql: String)] = Schema.migrations + [(later, "ALTER TABLE owners ADD COLUMN phone TEXT")]
        try store.migrate(next)
        #expect(store.schemaVersion == later)
        #expect(try store.db.scalar("SELECT name FROM owners WHERE id = 'alice'").text == "A")
        #expect(try store.db.scalar("SELECT count(*) FROM pragma_table_info('owners') WHERE name = 'phone'").int == 1)
        // Running the migrations again changes nothing (each re-reads the version inside its transaction).
        try store.migrate(next)
        #expect(store.schemaVersion == later)
    }

    @Test func aVersion2StoreMovesItsAuditLogToTheTableWithoutTheHashIndexAndStillVerifies() throws {
        let dir = TempDir()
        let path = dir.file("v2.db")
        let now: Instant = 1_780_272_000
        let audit = AuditContext(actor: "tester", command: "setup", at: now)
        var head2 = ""
        do {
            // A store as nhi wrote it before migration 3, with a chain of entries.
            let store = try Store.open(path: path, access: .write)
            // The schema of migrations 1 and 2 exactly (migration 1's audit_log has hash UNIQUE), as a v2 file had it.
            try store.db.executeScript("""
                PRAGMA foreign_keys = OFF;
                DROP TABLE exceptions_history; DROP TABLE systems_history;
                DROP TABLE exceptions; DROP TABLE systems; DROP TABLE owners_history; DROP TABLE agents_history;
                DROP TABLE tokens_history; DROP TABLE usage; DROP TABLE reviews; DROP TABLE tokens;
                DROP TABLE agents; DROP TABLE owners; DROP TABLE audit_log;
                PRAGMA foreign_keys = ON;
                """)
            try store.db.executeScript(Schema.migrations[0].sql)
            try store.db.executeScript(Schema.migrations[1].sql + "; PRAGMA user_version = 2")
            #expect(try store.db.scalar("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'audit_log' AND name LIKE 'sqlite_autoindex%'").int == 1)
            try store.db.writeTransaction {
                try Registry.addOwner(store.db, Owner(id: "alice", name: "Alice \"A\"", email: "a@example.com", team: nil, createdAt: now, updatedAt: now), audit: audit)
                // As nhi wrote an agent before migration 6: no mode column, no mode in its audit snapshot.
                try store.db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('bot', 'github', 'alice', 'active', ?, ?)",
                                     [.int(now), .int(now)])
                var head = try AuditLog.head(store.db)
                let before6 = Agent(id: "bot", system: "github", ownerID: "alice", createdAt: now, updatedAt: now)
                    .snapshotText.replacingAll(",\"mode\":\"autonomous\"", with: "")
                try AuditLog.append(store.db, audit, action: "agent.add", entityKind: "agent", entityID: "bot",
                                    beforeText: nil, afterText: before6, head: &head)
            }
            head2 = try AuditLog.head(store.db).hash
        }
        let store = try Store.open(path: path, access: .write)
        #expect(store.schemaVersion == Schema.currentVersion)
        #expect(try store.db.scalar("SELECT count(*) FROM sqlite_schema WHERE tbl_name = 'audit_log' AND name LIKE 'sqlite_autoindex%'").int == 0)
        #expect(try store.db.rows("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log' ORDER BY name").map { try $0.string("name") }
            == ["audit_by_entity", "audit_by_kind_time", "audit_by_time"])
        #expect(try AuditLog.head(store.db).hash == head2)
        #expect(try AuditVerifier.verify(store.db).ok)
        // The chain goes on from the same head.
        try store.db.writeTransaction {
            try Registry.addOwner(store.db, Owner(id: "bob", name: "Bob", email: "b@example.com", team: nil, createdAt: now, updatedAt: now), audit: audit)
        }
        let result = try AuditVerifier.verify(store.db)
        #expect(result.ok, "\(result.problems)")
        #expect(try store.db.scalar("SELECT count(*) FROM audit_log").int == 3)
    }

    @Test func aFailingMigrationLeavesTheVersionAndSchemaAsTheyWere() throws {
        let dir = TempDir()
        let path = dir.file("v1.db")
        let store = try Store.open(path: path, access: .write)
        let broken: [(version: Int32, sql: String)] = Schema.migrations + [(Schema.currentVersion + 1, "CREATE TABLE added (x); CREATE TABLE owners (y)")]
        #expect(throws: (any Error).self) { try store.migrate(broken) }
        #expect(store.schemaVersion == Schema.currentVersion)
        #expect(try store.db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'added'").int == 0)
    }

    @Test func aCreatedFileIsRemovedAfterAFailureUnlessAnotherProcessWroteToIt() throws {
        let dir = TempDir()
        let path = dir.file("nhi.db")
        do {
            let store = try Store.open(path: path, access: .write)
            store.removeIfCreatedAndUnused()
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))

        let creator = try Store.open(path: path, access: .write)
        let other = try Store.open(path: path, access: .write)
        #expect(!other.createdFile)
        try other.db.writeTransaction {
            try Registry.addOwner(other.db, Owner(id: "alice", name: "A", email: "a@example.com", team: nil, createdAt: 0, updatedAt: 0),
                                  audit: AuditContext(actor: "t", command: "owner add", at: 0))
        }
        creator.removeIfCreatedAndUnused()
        #expect(FileManager.default.fileExists(atPath: path))
        other.removeIfCreatedAndUnused()
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func aStoreOpensAgainAndReads() throws {
        let dir = TempDir()
        let path = dir.file("nhi.db")
        _ = try Store.open(path: path, access: .write)
        let again = try Store.open(path: path, access: .read)
        #expect(!again.createdFile)
        #expect(try again.db.scalar("SELECT count(*) FROM tokens").int == 0)
    }
}

/// Migrations run as GRDB's migrator runs them, and a shipped migration is never edited.
@Suite struct MigrationDisciplineTests {
    /// The SHA-256 of each shipped migration's text. A migration that has shipped is never modified (GRDB's
    /// Migrations.md): a change is a new migration at the end, whose hash is added here when it ships.
    static let shipped: [Int32: String] = [
        1: "d7fb35aed6daa347831ffbd7bdb8bc62e2981358c6f044119ccc0632f2bce6c1",
        2: "773685bbfb0b489537248d08eed41dc77cb81c100b7a603c75e1539166771461",
        3: "65acda72878e8ee9ff58ad798dfea47115436731205dd7438452be9f1a2db6a7",
        4: "ed29f52eb1da37b0a787c14a83d70a1841f6b7450cc343a9b97eb3418a698768",
        5: "baa575487c81fac972a03ba443784006bc6a8390738cfcee69f2d475914951e5",
        6: "6efeb0aab046fb3cf17c25e9ee24fc6f29584e5b4d173164743438bb2cdf4bad",
        7: "ab44aac0dff276107f32507c687be4f3973b023bf7095b781c257a17b320a1be",
        8: "6bf47c927c78055160e4f9d26bb7813de5f9dc2b091127a8cc6392cb25df39e6",
    ]

    @Test func shippedMigrationsAreUnchanged() {
        for migration in Schema.migrations where MigrationDisciplineTests.shipped[migration.version] != nil {
            #expect(SHA256.hex(bytes: Array(migration.sql.utf8)) == MigrationDisciplineTests.shipped[migration.version],
                    "migration \(migration.version) was edited after it shipped; add a new migration instead")
        }
        // Every migration but possibly the newest (not yet shipped) is pinned.
        #expect(Schema.migrations.dropLast().allSatisfy { MigrationDisciplineTests.shipped[$0.version] != nil })
    }

    /// With foreign keys on, rebuilding a table that others reference (new table, copy, drop, rename: SQLite's
    /// documented way) would fail at the DROP; the migrator turns them off around it.
    @Test func aMigrationCanRebuildAReferencedTable() throws {
        let store = try Store.inMemory()
        let db = store.db
        try db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('o', 'O', 'o@example.com', 'active', 1, 1)")
        try db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('a', 's', 'o', 'active', 1, 1)")
        let rebuild = """
            CREATE TABLE owners_new (id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, team TEXT,
                status TEXT NOT NULL DEFAULT 'active', departed_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
            INSERT INTO owners_new SELECT * FROM owners;
            DROP TABLE owners;
            ALTER TABLE owners_new RENAME TO owners;
            """
        try store.migrate(Schema.migrations + [(Schema.currentVersion + 1, rebuild)])
        #expect(store.schemaVersion == Schema.currentVersion + 1)
        #expect(try db.scalar("SELECT count(*) FROM agents JOIN owners ON owners.id = agents.owner_id").int == 1)
        #expect(try db.scalar("PRAGMA foreign_keys").int == 1)
    }

    /// A migration that leaves a row pointing at nothing is refused whole, and the store stays at its version.
    @Test func aMigrationThatBreaksAReferenceIsRolledBack() throws {
        let store = try Store.inMemory()
        let db = store.db
        try db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('o', 'O', 'o@example.com', 'active', 1, 1)")
        try db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('a', 's', 'o', 'active', 1, 1)")
        let before = store.schemaVersion
        #expect(throws: NHIError.self) {
            try store.migrate(Schema.migrations + [(Schema.currentVersion + 1, "DELETE FROM owners; CREATE TABLE extra (x)")])
        }
        #expect(store.schemaVersion == before)
        #expect(try db.scalar("SELECT count(*) FROM owners").int == 1)
        #expect(try db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'extra'").int == 0)
        #expect(try db.scalar("PRAGMA foreign_keys").int == 1)
    }
}
