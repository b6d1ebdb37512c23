import NHIBasics
import NHIStore
import NHIAudit

/// `store copy`: a whole store copied into an empty one, between SQLite and PostgreSQL either way (issue 18).
public enum StoreCommands {
    public static var all: [CommandSpec] { [copy] }

    package static let copy = CommandSpec(
        ["store", "copy"], abstract: "Copy the whole store (--db) into an empty SQLite file or PostgreSQL schema.",
        discussion: """
            Copies every table (inventory, history, audit log, usage, reviews, systems, exceptions) row for row, keys \
            included, in one transaction on the target: 'nhi audit verify' passes on the copy and 'nhi audit head' \
            prints the same hash on both sides. The source is read in one snapshot and not changed (an older source \
            is migrated first, as by any command). TARGET is a SQLite path that does not exist yet or is a zero-byte file \
            (created anew with mode 0600) or a PostgreSQL URI whose schema holds no table; a non-empty target is refused (exit 3). When the \
            copy fails nothing is left behind: a new file is removed, a PostgreSQL schema is left as it was. The copy \
            writes no audit entry (it would make the heads differ). See Docs/store.md and Docs/postgres.md.
            """,
        options: [OptionSpec("to", value: "TARGET", help: "The empty store to copy into: a new SQLite file or a postgres:// URI.", required: true)],
        examples: ["nhi store copy --db nhi.db --to 'postgresql://nhi_admin@db.example.com/nhi?sslmode=verify-full'",
                   "nhi store copy --db 'postgresql://auditor@db.example.com/nhi' --to evidence-2026-12.db"]) { inv in
        let targetLocation = inv.value("to")!
        let source = try inv.store(.read)
        if targetLocation == inv.dbPath { throw NHIError.data("--to names the source store itself (\(inv.dbShown))") }
        let target = try StoreCopy.openTarget(targetLocation)
        var head = ""
        let copied: StoreCopy.Copied
        do {
            copied = try StoreCopy.copy(from: source, to: target) { from, to in
                let expected = try AuditLog.head(from), made = try AuditLog.head(to)
                guard expected.hash == made.hash, expected.seq == made.seq else {
                    throw NHIError.store("the copy's audit head (\(made.seq), \(made.hash)) is not the source's (\(expected.seq), \(expected.hash)); nothing was written")
                }
                head = made.hash
            }
        } catch let error as DatabaseError {
            target.removeIfCreatedAndUnused()
            throw NHIError.store("cannot copy the store to \(Store.shown(targetLocation)): \(error.message); nothing was written")
        } catch {
            target.removeIfCreatedAndUnused()
            throw error
        }
        target.optimize()
        let counts = copied.tables.map { "\($0.name) \($0.rows)" }.joined(separator: ", ")
        inv.out.line("copied \(copied.rows) rows in \(copied.tables.count) tables from \(inv.dbShown) to \(Store.shown(targetLocation)) (\(counts)); audit head \(head)")
        return .success
    }
}
