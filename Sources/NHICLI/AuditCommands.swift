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

/// `audit log`, `audit verify`, `audit head`: reading and checking the hash-chained audit log.
public enum AuditCommands {
    public static var all: [CommandSpec] { [log, verify, head] }

    package static let log = CommandSpec(
        ["audit", "log"], abstract: "List audit entries, newest first, with what each changed.",
        discussion: "--since and --until are inclusive; a bare date for --until includes that whole day (UTC).",
        options: [OptionSpec("token", value: "ID", help: "Only entries about this token (its changes and recorded uses)."),
                  OptionSpec("owner", value: "ID", help: "Only entries about this owner, or about agents and tokens that were theirs before or after."),
                  OptionSpec("actor", value: "NAME", help: "Only entries written by this actor."),
                  OptionSpec("since", value: "DATE", help: "Only entries at or after this instant (2026-01-31, ISO 8601 or -7d)."),
                  OptionSpec("until", value: "DATE", help: "Only entries at or before this instant."),
                  OptionSpec("limit", value: "N", help: "At most N entries.")],
        formats: CommandSpec.listFormats,
        examples: ["nhi audit log --token gh-support-bot", "nhi audit log --actor alice --since -30d --format csv"]) { inv in
        let now = try inv.currentTime()
        var query = AuditQuery(token: inv.value("token"), owner: inv.value("owner"), actor: inv.value("actor"))
        query.since = try inv.date("since")
        if let text = inv.value("until") {
            let until = try Time.parseDate(text, now: now, what: "--until")
            // A bare day means through the end of it: `--until 2026-06-01` includes entries made that afternoon.
            query.until = text.utf8.count == 10 && !text.hasPrefix("+") && !text.hasPrefix("-") ? until + 86_399 : until
        }
        if let text = inv.value("limit") {
            guard let limit = Int64(text), limit > 0 else { throw NHIError.data("--limit must be a positive number, not '\(Redaction.printable(text))'") }
            query.limit = limit
        }
        if let since = query.since, let until = query.until, since > until {
            throw NHIError.data("--since (\(Time.iso(since))) is after --until (\(Time.iso(until)))")
        }
        let structured = inv.format == "json" || inv.format == "ndjson"
        let columns = inv.format == "csv" ? AuditLog.Entry.csvColumns : AuditLog.Entry.tableColumns
        let writer = RecordWriter(format: inv.format, columns: columns, sink: inv.out, colour: inv.colour)
        try inv.read { db in try query.forEach(db) { writer.write($0.record(structured: structured)) } }
        try writer.finish(emptyMessage: "no audit entries")
        return .success
    }

    package static let verify = CommandSpec(
        ["audit", "verify"], abstract: "Recompute the hash chain and compare the inventory with it.",
        discussion: """
            Exits 0 with a one-line summary when every entry hashes to its stored hash, links to the one before, and \
            every owner, agent and token equals the last audit entry written for it. Exits 1 listing what does not \
            match, first problem first. With --head, also fails when that hash (from an earlier 'nhi audit head', \
            kept outside the store) is no longer in the chain. See Docs/audit.md for what this does not protect against.
            """,
        options: [OptionSpec("head", value: "HASH", help: "A head hash pinned earlier; fail if it is no longer in the chain.")],
        examples: ["nhi audit verify", "nhi audit verify --head \"$(cat audit-head.txt)\""]) { inv in
        let pinned = inv.value("head")
        if let pinned, !AuditVerifier.isHash(pinned) {
            throw NHIError.data("--head must be a hash as 'nhi audit head' prints it (64 lowercase hex digits), not '\(Redaction.printable(String(pinned.prefix(80))))'")
        }
        let result = try inv.read { db in try AuditVerifier.verify(db, pinnedHead: pinned) }
        if result.ok {
            inv.out.line("audit chain ok: \(result.entries) entries, head \(result.head)")
            return .success
        }
        let noun = result.problemCount == 1 ? "1 problem" : "\(result.problemCount) problems"
        inv.out.line("audit verify failed: \(noun) in \(result.entries) entries; the first: \(result.problems[0])")
        for problem in result.problems.dropFirst() { inv.out.line("  \(problem)") }
        if result.problemCount > result.problems.count {
            inv.out.line("  ... and \(result.problemCount - result.problems.count) more")
        }
        return .findings
    }

    package static let head = CommandSpec(
        ["audit", "head"], abstract: "Print the newest audit entry's hash, to keep outside the store.",
        discussion: "Keep the printed hash somewhere the store's writers cannot change (a CI variable, a signed commit, a ticket); 'nhi audit verify --head HASH' later proves the history up to it was not rewritten. An empty log prints the genesis hash (64 zeros).",
        examples: ["nhi audit head > audit-head.txt"]) { inv in
        let head = try inv.read { db in try AuditLog.head(db) }
        inv.out.line(head.hash)
        return .success
    }
}
