import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import NHIInventory
import NHIReports
import NHIScan
import NHIOutput

/// `import` and `export`: the whole inventory in and out as CSV, JSON or ndjson (Docs/import-export.md).
public enum ExchangeCommands {
    public static var all: [CommandSpec] {
        var importSpec = importCommand
        importSpec.formatHelp = "Input format: csv|json|ndjson (default: from the file name's extension)."
        return [importSpec, exportCommand]
    }

    package static let kindChoices = ["owners", "systems", "agents", "tokens", "exceptions"]

    /// Ends a dry run's transaction without committing it.
    package struct DryRunFinished: Error {}

    package static let importCommand = CommandSpec(
        ["import"], abstract: "Import owners, agents and tokens from a CSV, JSON or ndjson file (all or nothing).",
        discussion: """
            Every record is validated as the commands validate it (ids, secret-looking values, unknown owners and
            agents, expiry before issue, fingerprint reuse, the policy named by --policy or $NHI_POLICY). One bad
            record and nothing is imported: every bad record is reported with its line, column and reason (exit 3).
            Owners and agents a token refers to may come earlier in the same file. The format follows the file
            name (.csv, .json, .ndjson or .jsonl) unless --format is given. Columns: Docs/import-export.md.
            """,
        arguments: [ArgumentSpec("FILE", help: "The file to import (as nhi export writes it).")],
        options: [OptionSpec("dry-run", help: "Validate everything and report what would change; write nothing."),
                  OptionSpec("on-conflict", value: "MODE", help: "When a record's id exists: fail (default), skip, or update it.",
                             choices: ["fail", "skip", "update"]),
                  OptionSpec("kind", value: "KIND", help: "The kind of every record, for a file without a kind column.",
                             choices: kindChoices)],
        formats: ["csv", "json", "ndjson"],
        examples: ["nhi import Docs/examples/inventory.csv --dry-run",
                   "nhi import tokens.ndjson --on-conflict update --policy policy.json"]
    ) { inv in
        let path = inv.required("FILE")
        let format = inv.value("format") ?? RecordSource.format(forPath: path)
        let conflict = Importer.Conflict(rawValue: inv.value("on-conflict") ?? "fail") ?? .fail
        let kind = inv.value("kind").flatMap(ExchangeShape.kind)
        let dryRun = inv.flag("dry-run")
        let policy = try inv.policyGate()
        let audit = try inv.auditContext()
        try RecordSource.checkReadable(path)
        let store = try inv.store(.write)
        // A large page cache keeps a million-row import's randomly written pages in memory (this connection only):
        // into a new store, where the other indexes are built last, that is the fingerprint index (33 MB at 1M).
        if store.db.dialect == .sqlite { try? store.db.executeScript("PRAGMA cache_size = -49152") }
        var counts = Importer.Counts()
        var changes: [String] = []
        let progress = Progress(label: "import", unit: "records", sink: inv.err, enabled: inv.err.isTerminal)
        defer { progress.finish() }
        do {
            try inv.write { db in try Schema.buildingDeferredIndexesLast(db) {
                let importer = try Importer(db: db, audit: audit, conflict: conflict, policy: policy, defaultKind: kind)
                if dryRun { importer.changeLog = { changes.append($0) } }
                try RecordSource.read(path, format: format, record: { progress.tick(); try importer.process($0) },
                                      problem: { try importer.report($0) })
                try importer.finish()
                if importer.problemCount > 0 {
                    let n = importer.badRecordCount
                    let more = importer.problemCount - importer.problems.count
                    throw NHIError.data("\(Redaction.printable(path: path)): \(n) bad record\(n == 1 ? "" : "s"); nothing was imported",
                                        details: importer.problems.map(\.description) + (more > 0 ? ["... and \(more) more problems"] : []))
                }
                counts = importer.counts
                if dryRun { throw DryRunFinished() }
            } }
        } catch is DryRunFinished {
            if store.createdFile { store.removeFiles() }
            for line in changes { inv.out.line(line) }
            inv.out.line("dry run, nothing was written: would be \(summary(counts, dryRun: true))")
            return .success
        }
        store.optimize()
        inv.out.line("imported \(Redaction.printable(path: path)): \(summary(counts))")
        return .success
    }

    /// The counts; the records written (or, for a dry run, that would be) per kind, systems included.
    package static func summary(_ c: Importer.Counts, dryRun: Bool = false) -> String {
        let kinds = ExchangeShape.kinds.map { "\($0)s \(c.byKind[$0] ?? 0)" }.joined(separator: ", ")
        return "\(c.created) created, \(c.updated) updated, \(c.unchanged) unchanged, \(c.skipped) skipped (\(dryRun ? "would write" : "written"): \(kinds))"
    }

    package static let exportCommand = CommandSpec(
        ["export"], abstract: "Export the inventory (owners, systems, agents, tokens, exceptions) for import elsewhere.",
        discussion: """
            Each record carries its kind. CSV has one header, the union of the kinds' columns with kind first; a
            cell that starts with = + - or @ is prefixed with ' so a spreadsheet shows it as text (nhi import
            removes exactly that prefix). The audit log, reviews and usage records are not exported.
            """,
        options: [OptionSpec("kind", value: "KIND", help: "Only this kind of record.", choices: kindChoices)],
        formats: ["csv", "json", "ndjson"],
        examples: ["nhi export > inventory.csv", "nhi export --kind tokens --format ndjson > tokens.ndjson"]
    ) { inv in
        try inv.read { db in
            // Systems and exceptions only when the store has any: a store without them exports what it always did.
            let present = ExchangeShape.coreKinds
                + (try Registry.systems(db).isEmpty ? [] : ["system"]) + (try Registry.exceptions(db).isEmpty ? [] : ["exception"])
            let wanted = inv.value("kind").flatMap(ExchangeShape.kind).map { [$0] } ?? present
            let kinds = ExchangeShape.kinds.filter(wanted.contains)
            let columns = ExchangeShape.columns(for: kinds).map { Column($0) }
            let writer = RecordWriter(format: inv.format, columns: columns, sink: inv.out)
            if kinds.contains("owner") { for owner in try Registry.owners(db) { writer.write(owner.record) } }
            if kinds.contains("system") { for system in try Registry.systems(db) { writer.write(system.record) } }
            if kinds.contains("agent") { for agent in try Registry.agents(db) { writer.write(agent.record) } }
            if kinds.contains("token") { try Registry.forEachToken(db) { writer.write($0.record) } }
            if kinds.contains("exception") { for e in try Registry.exceptions(db) { writer.write(e.record) } }
            try writer.finish()
        }
        return .success
    }
}
