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

/// `report ...`: the auditors' reports, evaluated as of a date (`--as-of`, default now). The builders are in
/// Sources/NHI/Reports/Reports.swift; these commands parse flags and format rows.
public enum ReportCommands {
    public static var all: [CommandSpec] { [rotationDue, reviewDue, expiring, offboarding, owners, systems, scopes, changes] + auditor }

    package static let formats = CommandSpec.listFormats

    package static func within(_ inv: Invocation, default text: String) throws(NHIError) -> Int64 {
        if let v = try inv.duration("within") { return v }
        return try Duration.parse(text)
    }

    /// Reads a report's rows with `build` and writes them. A table is measured as the rows are found (`observe`),
    /// so its rows are made once more to be written, not twice more.
    package static func report(_ inv: Invocation, asOf: Instant, dateKey: String, dateHeader: String, empty: String,
                       _ build: (Database, ((Reports.Row) -> Void)?) throws -> Reports.RowList) throws {
        let table = !["json", "ndjson", "csv"].contains(inv.format)
        var widths = ReportOutput.TableWidths(columns: Reports.Row.columns(dateKey: dateKey, dateHeader: dateHeader), dateKey: dateKey, asOf: asOf)
        let rows = try inv.read { db in try build(db, table ? { widths.add($0) } : nil) }
        ReportOutput.write(rows, format: inv.format, dateKey: dateKey, dateHeader: dateHeader, asOf: asOf, sink: inv.out,
                           colour: inv.colour, emptyMessage: empty, measured: table ? widths : nil)
    }

    package static let rotationDue = CommandSpec(
        ["report", "rotation-due"], abstract: "Active tokens whose rotation is overdue or due soon.",
        discussion: "A token is due when last_rotated_at (or issued_at) + rotate_every falls within --within of --as-of; overdue when it is before --as-of. Most overdue first.",
        options: [OptionSpec("within", value: "DURATION", help: "Also list tokens due within this long (default 14d).")],
        formats: formats, examples: ["nhi report rotation-due --within 30d --format csv"]) { inv in
        let asOf = try inv.asOf(), within = try within(inv, default: "14d")
        try report(inv, asOf: asOf, dateKey: "due_at", dateHeader: "DUE", empty: "no token is due for rotation within \(Duration.format(within)) of \(Time.iso(asOf))") {
            try Reports.rotationDue($0, asOf: asOf, within: within, observe: $1)
        }
        return .success
    }

    package static let reviewDue = CommandSpec(
        ["report", "review-due"], abstract: "Active tokens whose review is overdue or due soon.",
        discussion: "A token is due when last_reviewed_at (or issued_at) + review_every falls within --within of --as-of; overdue when it is before --as-of. Record a review with: nhi review ID --decision keep|revoke.",
        options: [OptionSpec("within", value: "DURATION", help: "Also list tokens due within this long (default 14d).")],
        formats: formats, examples: ["nhi report review-due --as-of 2026-07-01"]) { inv in
        let asOf = try inv.asOf(), within = try within(inv, default: "14d")
        try report(inv, asOf: asOf, dateKey: "due_at", dateHeader: "DUE", empty: "no token is due for review within \(Duration.format(within)) of \(Time.iso(asOf))") {
            try Reports.reviewDue($0, asOf: asOf, within: within, observe: $1)
        }
        return .success
    }

    package static let expiring = CommandSpec(
        ["report", "expiring"], abstract: "Active tokens that expire soon (not yet expired).",
        discussion: "Tokens whose expires_at is at or after --as-of and before --as-of + --within. Already expired tokens are in 'nhi report offboarding'. Soonest first.",
        options: [OptionSpec("within", value: "DURATION", help: "How far ahead to look (default 30d).")],
        formats: formats, examples: ["nhi report expiring --within 7d"]) { inv in
        let asOf = try inv.asOf(), within = try within(inv, default: "30d")
        try report(inv, asOf: asOf, dateKey: "expires_at", dateHeader: "EXPIRES", empty: "no token expires within \(Duration.format(within)) of \(Time.iso(asOf))") {
            try Reports.expiring($0, asOf: asOf, within: within, observe: $1)
        }
        return .success
    }

    package static let offboarding = CommandSpec(
        ["report", "offboarding"], abstract: "Active tokens that must go: orphaned or expired.",
        discussion: "Orphaned: the owner is unknown or departed, or the agent is unknown or decommissioned. Expired: expires_at is before --as-of. Expired first, then longest in the state first.",
        options: [OptionSpec("owner", value: "OWNER", help: "Only this owner's tokens."),
                  OptionSpec("agent", value: "AGENT", help: "Only tokens bound to this agent.")],
        formats: formats, examples: ["nhi report offboarding --owner dave", "nhi report offboarding --format json"]) { inv in
        let owner = inv.value("owner"), agent = inv.value("agent")
        if owner != nil && agent != nil { throw NHIError.usage("give --owner or --agent, not both") }
        let asOf = try inv.asOf()
        try report(inv, asOf: asOf, dateKey: "since", dateHeader: "SINCE", empty: "nothing to offboard as of \(Time.iso(asOf))") { db, observe in
            // A typo in --owner must not read as "nothing to offboard".
            if let owner, try Registry.owner(db, owner) == nil,
               try db.scalar("SELECT count(*) FROM tokens WHERE owner_id = ?", [.text(owner)]).int == 0 {
                _ = try Registry.requireOwner(db, owner)
            }
            if let agent, try Registry.agent(db, agent) == nil,
               try db.scalar("SELECT count(*) FROM tokens WHERE agent_id = ?", [.text(agent)]).int == 0 {
                _ = try Registry.requireAgent(db, agent)
            }
            return try Reports.offboarding(db, asOf: asOf, owner: owner, agent: agent, observe: observe)
        }
        return .success
    }

    package static let changes = CommandSpec(
        ["report", "changes"], abstract: "Every change of access between two instants, oldest first, with time, actor and command.",
        discussion: """
            One row per change, read from the audit trail's before and after of each entry: token registered, revoked, \
            rotated, transferred (from and to owner), rebound (from and to agent), expiry changed (from and to, extended \
            or not), scopes added or removed, owner departed, agent decommissioned. --from and --to are inclusive; a \
            bare date for --to includes that whole day (UTC); --to defaults to now. See Docs/history.md.
            """,
        options: [OptionSpec("from", value: "DATE", help: "The first instant of the interval (2026-01-31, ISO 8601 or -30d).", required: true),
                  OptionSpec("to", value: "DATE", help: "The last instant of the interval (default: now).")],
        formats: formats, examples: ["nhi report changes --from 2026-06-30 --to 2026-09-30 --format csv"]) { inv in
        let now = try inv.currentTime()
        let from = try inv.date("from") ?? now
        var to = now
        if let text = inv.value("to") {
            let parsed = try Time.parseDate(text, now: now, what: "--to")
            // A bare day means through the end of it, as `audit log --until` reads it.
            to = text.utf8.count == 10 && !text.hasPrefix("+") && !text.hasPrefix("-") ? parsed + 86_399 : parsed
        }
        if from > to { throw NHIError.data("--from (\(Time.iso(from))) is after --to (\(Time.iso(to)))") }
        let writer = RecordWriter(format: inv.format, columns: AccessChanges.columns, sink: inv.out, colour: inv.colour)
        try inv.read { db in try AccessChanges.forEach(db, from: from, to: to) { writer.write($0.record) } }
        try writer.finish(emptyMessage: "no change of access from \(Time.iso(from)) to \(Time.iso(to))")
        return .success
    }

    package static let owners = CommandSpec(
        ["report", "owners"], abstract: "One row per owner: active, expired, orphaned and overdue token counts, and totals.",
        discussion: "Owners with tokens that must go (expired or orphaned) come first, then the most overdue. The last row, owner '(total)', sums every owner. An owner named by tokens but never registered shows with status 'unknown'.",
        formats: formats, examples: ["nhi report owners --as-of 2026-12-31 --format csv"]) { inv in
        let asOf = try inv.asOf()
        let owners = try inv.read { db in try Reports.ownerSummary(db: db, asOf: asOf) }
        let writer = RecordWriter(format: inv.format, columns: Reports.OwnerSummary.columns, sink: inv.out, colour: inv.colour)
        for owner in owners { writer.write(owner.record) }
        if !owners.isEmpty { writer.write(Reports.totals(owners).record) }
        try writer.finish(emptyMessage: "no owners")
        return .success
    }

    package static let scopes = CommandSpec(
        ["report", "scopes"], abstract: "Least privilege from usage: granted scopes no use exercised, and scope creep.",
        discussion: """
            One row per active token with a granted scope that no recorded use exercised in the --unused-for window \
            before --as-of (what least privilege would remove: OWASP NHI5), or with a use in the window that exercised \
            a scope not granted at the time (scope_creep: the scope-creep state). Only uses whose log named their scopes \
            count (usage record --scope, a scopes column, --map scopes=PATH); uses_with_scopes says how many there were, \
            so 0 means the log holds no evidence either way.
            """,
        options: [OptionSpec("unused-for", value: "DURATION", help: "The window of recorded uses to look at (default 90d).")],
        formats: formats, examples: ["nhi report scopes --unused-for 90d", "nhi report scopes --unused-for 30d --format csv"]) { inv in
        let asOf = try inv.asOf()
        let window = try inv.duration("unused-for") ?? Duration.parse("90d")
        guard window > 0 else { throw NHIError.data("--unused-for must be longer than 0") }
        let writer = RecordWriter(format: inv.format, columns: Reports.ScopeRow.columns, sink: inv.out, colour: inv.colour)
        try inv.read { db in try Reports.scopes(db, asOf: asOf, unusedFor: window) { writer.write($0.record) } }
        try writer.finish(emptyMessage: "every granted scope of every active token was exercised in the \(Duration.format(window)) before \(Time.iso(asOf))")
        return .success
    }

    package static let systems = CommandSpec(
        ["report", "systems"], abstract: "One row per system: roles and their owners' status, freeze, active tokens, findings per state.",
        discussion: "Lists every registered system and every system a token names (as system or issuer) without being registered; the states are evaluated as of --as-of, as check does.",
        formats: formats, examples: ["nhi report systems --format csv"]) { inv in
        let asOf = try inv.asOf()
        let policy = try inv.policyGate()
        let rows = try inv.read { db in try Reports.systems(db, asOf: asOf, maxUnused: policy?.maxUnused ?? StateQuery(asOf: asOf).maxUnused) }
        let writer = RecordWriter(format: inv.format, columns: Reports.SystemRow.columns, sink: inv.out, colour: inv.colour)
        for row in rows { writer.write(row.record) }
        try writer.finish(emptyMessage: "no systems")
        return .success
    }
}
