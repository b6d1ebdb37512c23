/// `nhi check` as text (for a CI log) and as JSON. JUnit and SARIF are in their own files.
public enum CheckOutput {
    /// Warnings listed one per line before the rest are only counted, so a large inventory's CI log stays readable.
    public static let listedWarnings = 100

    public static func text(_ result: Check.Result, sink: OutputSink) {
        let failures = result.failures, warnings = result.warnings
        sink.line("nhi check as of \(Time.iso(result.asOf)): \(result.activeCount) active tokens (\(result.totalTokens) in the store); failing on \(result.failOn.isEmpty ? "nothing" : result.failOn.joined(separator: ", "))")
        let shown = failures + warnings.prefix(listedWarnings)
        let kindWidth = shown.map(\.kind.count).max() ?? 0, tokenWidth = shown.map(\.tokenID.count).max() ?? 0
        func line(_ label: String, _ f: Check.Finding) {
            let kindPad = String(repeating: " ", count: kindWidth - f.kind.count)
            let tokenPad = String(repeating: " ", count: tokenWidth - f.tokenID.count)
            sink.line("\(label)  \(f.kind)\(kindPad)  \(f.tokenID)\(tokenPad)  \(f.reason)")
        }
        if !failures.isEmpty { sink.line() }
        failures.forEach { line("FAIL", $0) }
        if !warnings.isEmpty { sink.line() }
        warnings.prefix(listedWarnings).forEach { line("WARN", $0) }
        if warnings.count > listedWarnings {
            sink.line("... and \(warnings.count - listedWarnings) more warnings (--format json lists every finding)")
        }
        sink.line()
        func counts(_ severity: Check.Severity) -> String {
            result.counts(severity).map { "\($0.kind) \($0.count)" }.joined(separator: ", ")
        }
        if result.passed {
            sink.line("PASSED: nothing fails the check" + (warnings.isEmpty ? "" : "; \(warnings.count) warning\(warnings.count == 1 ? "" : "s") (\(counts(.warning)))"))
        } else {
            sink.line("FAILED: \(failures.count) finding\(failures.count == 1 ? "" : "s") (\(counts(.failure)))" + (warnings.isEmpty ? "" : "; \(warnings.count) warning\(warnings.count == 1 ? "" : "s") (\(counts(.warning)))"))
            var seen: Set<String> = []
            for f in failures where seen.insert(f.kind).inserted {
                sink.line("  fix \(f.kind): \(Check.remedy(f.kind))")
            }
        }
    }

    public static func findingRecord(_ f: Check.Finding) -> JSONObject {
        findingRecord(f, controls: Controls.json(forFinding: f.kind, rule: f.rule))
    }

    /// `controls`: the finding's controls, which depend only on its kind and rule, so a caller writing many
    /// findings computes them once per kind (at a million tokens, per finding cost a second of `check`).
    static func findingRecord(_ f: Check.Finding, controls: JSON) -> JSONObject {
        var object: JSONObject = [
            "token": .string(f.tokenID), "owner": .string(f.ownerID), "agent": .string(f.agentID), "system": .string(f.system),
            "state": .string(f.kind), "severity": .string(f.severity.rawValue), "reason": .string(f.reason),
            "since": JSON.instant(f.since),
        ]
        if let rule = f.rule { object["rule"] = .string(rule) }
        // The framework controls the finding evidences (Sources/NHI/Rules/Controls.swift, Docs/controls.md).
        object["controls"] = controls
        return object
    }

    public static func json(_ result: Check.Result, sink: OutputSink) {
        func counts(_ severity: Check.Severity) -> JSON {
            .object(JSONObject(result.counts(severity).map { ($0.kind, JSON.int(Int64($0.count))) }))
        }
        let head: JSONObject = [
            "as_of": .string(Time.iso(result.asOf)), "passed": .bool(result.passed),
            "fail_on": .array(result.failOn.map(JSON.string)), "max_unused": .string(Duration.format(result.maxUnused)),
            "tokens": .int(result.totalTokens), "active_tokens": .int(result.activeCount),
            "failures": .int(Int64(result.failures.count)), "warnings": .int(Int64(result.warnings.count)),
            "failure_counts": counts(.failure), "warning_counts": counts(.warning),
        ]
        // Streamed: the findings of a large inventory are written one by one, never built into one string.
        var text = JSON.object(head).serialized()
        text.removeLast()
        sink.write(text + ",\"findings\":[")
        var controlsByKind: [String: JSON] = [:]
        for (i, f) in result.findings.enumerated() {
            let key = f.rule.map { f.kind + "\u{0}" + $0 } ?? f.kind
            let controls = controlsByKind[key] ?? Controls.json(forFinding: f.kind, rule: f.rule)
            controlsByKind[key] = controls
            sink.write((i == 0 ? "\n  " : ",\n  ") + JSON.object(findingRecord(f, controls: controls)).serialized())
        }
        sink.write(result.findings.isEmpty ? "]}\n" : "\n]}\n")
    }
}
