import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports

/// `nhi check --format github`: GitHub Actions workflow-command annotations (`::error title=nhi expired::...` for
/// failures, `::warning` for warnings) and the markdown summary for `$GITHUB_STEP_SUMMARY`. Escaping follows
/// actions/toolkit's `command.ts` (Docs/guide-ci.md): `%`, CR and LF in the message; also `:` and `,` in
/// property values.
public enum GitHubOutput {
    /// GitHub shows at most 10 error and 10 warning annotations per step (actions/toolkit docs/problem-matchers.md):
    /// more are written as one notice counting them, so the rest are in the summary, not lost silently.
    public static let annotationsPerLevel = 10
    /// Rows of failures in the summary; the step summary is limited to 1 MiB.
    public static let summaryRows = 1_000

    public static func escapeData(_ text: String) -> String {
        var out = ""
        for c in text.unicodeScalars {
            switch c {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func escapeProperty(_ text: String) -> String {
        var out = ""
        for c in escapeData(text).unicodeScalars {
            switch c {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    public static func message(_ f: Check.Finding) -> String {
        "Token \(f.tokenID) is \(f.kind): \(f.reason). \(Check.remedy(f.kind)) (owner \(f.ownerID), agent \(f.agentID))"
    }

    public static func annotations(_ result: Check.Result, sink: OutputSink) {
        var errors = 0, warnings = 0
        result.forEachFinding { f in
            let failing = f.severity == .failure
            let count = failing ? errors : warnings
            if failing { errors += 1 } else { warnings += 1 }
            guard count < annotationsPerLevel else { return }
            sink.line("::\(failing ? "error" : "warning") title=\(escapeProperty("nhi \(f.kind)"))::\(escapeData(message(f)))")
        }
        let hidden = max(0, errors - annotationsPerLevel) + max(0, warnings - annotationsPerLevel)
        if hidden > 0 {
            sink.line("::notice title=nhi check::\(escapeData("\(hidden) more findings not annotated (GitHub shows 10 of each level per step): see the job summary or nhi check."))")
        }
        sink.line(escapeData("nhi check as of \(Time.iso(result.asOf)): \(result.failureCount) failing, \(result.warningCount) warnings, \(result.activeCount) active tokens: \(result.passed ? "PASSED" : "FAILED")"))
    }

    /// A markdown table cell: `|` and line breaks would end the cell.
    static func cell(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("|", with: "\\|").replacingAll("\n", with: " ").replacingAll("\r", with: " ")
    }

    public static func summary(_ result: Check.Result) -> String {
        var counts: [String: (failing: Bool, count: Int)] = [:]
        var rows: [String] = []
        var failures = 0
        result.forEachFinding { f in
            let failing = f.severity == .failure
            counts[f.kind, default: (failing, 0)].count += 1
            if failing {
                failures += 1
                if rows.count < summaryRows {
                    rows.append("| \(cell(f.kind)) | `\(cell(f.tokenID))` | \(cell(f.ownerID)) | \(cell(f.reason)) |")
                }
            }
        }
        var out = "## nhi check: \(result.passed ? "passed" : "failed")\n\n"
        out += "As of \(Time.iso(result.asOf)); \(result.activeCount) active tokens (\(result.totalTokens) in the store); failing on \(result.failOn.isEmpty ? "nothing" : result.failOn.joined(separator: ", ")).\n\n"
        out += "| State | Findings | Counts as |\n| --- | ---: | --- |\n"
        for kind in Check.kinds {
            guard let c = counts[kind] else { continue }
            out += "| \(kind) | \(c.count) | \(c.failing ? "failure" : "warning") |\n"
        }
        if !rows.isEmpty {
            out += "\n### Failing findings\n\n| State | Token | Owner | Reason |\n| --- | --- | --- | --- |\n"
            out += rows.joined(separator: "\n") + "\n"
            if failures > rows.count { out += "\n\(failures - rows.count) more failing findings are not listed: run `nhi check`.\n" }
        }
        return out
    }
}
