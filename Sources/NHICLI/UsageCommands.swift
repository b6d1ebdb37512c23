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

/// `usage record` and `usage import`: which agent used which token, and when.
public enum UsageCommands {
    public static var all: [CommandSpec] { [record, importFile] }

    package static let record = CommandSpec(
        ["usage", "record"], abstract: "Record that an agent used a token.",
        discussion: "The agent need not be registered: a use by an unknown or other agent is exactly what foreign-use reports (OWASP NHI9, NHI reuse). The token's last_used_at moves to the latest use.",
        arguments: [ArgumentSpec("TOKEN", help: "The token's identifier (it must be registered).")],
        options: [OptionSpec("agent", value: "AGENT", help: "The agent that presented the token.", required: true),
                  OptionSpec("at", value: "TIME", help: "When it was used (default: now; 2026-05-31T12:00:00Z or -2h)."),
                  OptionSpec("tool", value: "NAME", help: "The tool or MCP server call it was used for.")],
        examples: ["nhi usage record gh-support-bot --agent support-bot --tool github.create_issue",
                   "nhi usage record gh-support-bot --agent ci-runner --at 2026-05-31T12:00:00Z"]) { inv in
        let audit = try inv.auditContext()
        let at = try inv.date("at") ?? audit.at
        let use = try UsageLog.validate(token: inv.required("TOKEN"), agent: inv.value("agent")!, at: at,
                                        tool: inv.value("tool"), now: audit.at)
        let foreign = try inv.write { db -> [TokenStates] in
            try UsageLog.record(db, use, audit: audit)
            return try UsageLog.foreignUseTokens(db, asOf: audit.at, among: [use.token])
        }
        inv.out.line("recorded use of token \(use.token) by agent \(use.agent) at \(Time.iso(use.at))")
        reportForeignUse(foreign, inv: inv)
        return .success
    }

    package static let importFile: CommandSpec = {
        var spec = CommandSpec(
            ["usage", "import"], abstract: "Import a log of token uses (ndjson or CSV), all or nothing.",
            discussion: """
                ndjson: one object per line, {"token": ID, "agent": ID, "at": ISO 8601, "tool": NAME or null}. \
                CSV: a header line naming the columns token, agent, at and optionally tool, in any order. \
                Every line is checked; if any is bad, each bad line is reported with its line number and nothing is \
                imported. The file is read in chunks, so a log of millions of lines imports in flat memory. \
                One audit entry records the import (records, tokens, the file's SHA-256).
                """,
            arguments: [ArgumentSpec("FILE", help: "The usage log (.ndjson/.jsonl/.json or .csv).")],
            formats: UsageImport.Format.allCases.map(\.rawValue),
            examples: ["nhi usage import mcp-gateway-2026-05.ndjson", "nhi usage import uses.txt --format csv"]) { inv in
            let path = inv.required("FILE")
            let format: UsageImport.Format
            if let given = inv.value("format") {
                format = UsageImport.Format(rawValue: given)!
            } else if let detected = UsageImport.Format.detect(path: path) {
                format = detected
            } else {
                throw NHIError.usage("cannot tell the format of '\(UsageImport.displayPath(path))' from its name; give --format csv or --format ndjson")
            }
            let audit = try inv.auditContext()
            // Open it before the store, so a missing file is reported as such and creates no store.
            do throws(CSVError) { _ = try LineReader(path: path) } catch { throw NHIError.data(error.message) }
            let (summary, foreign) = try inv.write { db -> (UsageImport.Summary, [TokenStates]) in
                let summary = try UsageImport.run(db, path: path, format: format, audit: audit,
                                                  progress: Progress(label: "usage import", unit: "lines", sink: inv.err, enabled: inv.err.isTerminal))
                let foreign = summary.records > 0 ? try UsageLog.foreignUseTokens(db, asOf: audit.at, among: summary.tokens) : []
                return (summary, foreign)
            }
            inv.openedStore?.optimize()
            let tokens = summary.tokens.count == 1 ? "1 token" : "\(summary.tokens.count) tokens"
            inv.out.line("imported \(summary.records) usage records for \(tokens) from \(UsageImport.displayPath(path))")
            reportForeignUse(foreign, inv: inv)
            return .success
        }
        spec.formatHelp = "Input format: ndjson|csv (default: from the file name's extension)."
        return spec
    }()

    /// Says which tokens are now in the foreign-use state, so the person recording sees it at once.
    package static func reportForeignUse(_ tokens: [TokenStates], inv: Invocation) {
        let shown = tokens.prefix(10)
        for token in shown {
            inv.err.line("nhi: warning: token \(token.token.id) is in state foreign-use: \(token.reason(.foreignUse, maxUnused: 0))")
        }
        if tokens.count > shown.count {
            inv.err.line("nhi: warning: \(tokens.count - shown.count) more tokens are in state foreign-use (see: nhi check --fail-on foreign-use)")
        }
    }
}
