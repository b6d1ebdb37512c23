import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan

/// `nhi check` as text (for a CI log) and as JSON. JUnit and SARIF are in their own files.
public enum CheckOutput {
    /// Warnings listed one per line before the rest are only counted, so a large inventory's CI log stays readable.
    public static let listedWarnings = 100

    public static func text(_ result: Check.Result, sink: OutputSink) {
        sink.line("nhi check as of \(Time.iso(result.asOf)): \(result.activeCount) active tokens (\(result.totalTokens) in the store); failing on \(result.failOn.isEmpty ? "nothing" : result.failOn.joined(separator: ", "))")
        // Every failure and the first `listedWarnings` warnings are listed; their widths are measured first, from
        // the ids alone (reasons are formatted only for the lines written).
        var kindWidth = 0, tokenWidth = 0
        func measure(_ kind: String, _ tokenID: String) {
            kindWidth = max(kindWidth, kind.count)
            tokenWidth = max(tokenWidth, TableText.width(tokenID))
        }
        var warningsMeasured = 0
        for (state, bucket) in zip(DerivedState.allCases, result.buckets) where !bucket.isEmpty {
            let failing = result.severity(of: state.rawValue) == .failure
            if !failing && warningsMeasured >= listedWarnings { continue }
            let handles = failing ? bucket[...] : bucket.prefix(listedWarnings - warningsMeasured)
            if !failing { warningsMeasured += handles.count }
            kindWidth = max(kindWidth, state.rawValue.count)
            for h in handles { tokenWidth = max(tokenWidth, TableText.width(result.states.tokenID(h))) }
        }
        let policyFailing = result.severity(of: Check.policyViolation) == .failure
        for v in result.violations.prefix(policyFailing ? result.violations.count : max(0, listedWarnings - warningsMeasured)) {
            measure(v.kind, v.tokenID)
        }
        func line(_ label: String, _ f: Check.Finding) {
            let kindPad = String(repeating: " ", count: kindWidth - f.kind.count)
            let tokenPad = String(repeating: " ", count: tokenWidth - f.tokenID.count)
            sink.line("\(label)  \(f.kind)\(kindPad)  \(f.tokenID)\(tokenPad)  \(f.reason)")
        }
        if result.failureCount > 0 { sink.line() }
        result.forEachFinding(.failure) { line("FAIL", $0) }
        if result.warningCount > 0 { sink.line() }
        // The rest of the warnings are only counted; nothing is formatted for them.
        result.forEachFinding(.warning, limit: listedWarnings) { line("WARN", $0) }
        if result.warningCount > listedWarnings {
            sink.line("... and \(result.warningCount - listedWarnings) more warnings (--format json lists every finding)")
        }
        // Waived findings are listed, never hidden: the state, the token, why it is in it, and the exception.
        if result.waivedCount > 0 { sink.line() }
        result.forEachFinding(.waived) { f in
            guard let w = f.waiver else { return }
            sink.line("WAIVED  \(f.kind)  \(f.tokenID)  \(f.reason) (exception \(w.id) until \(Time.iso(w.until)): \(w.reason))")
        }
        if !result.frozenSystems.isEmpty {
            sink.line()
            for system in result.frozenSystems {
                sink.line("FROZEN  system \(system.id) since \(Time.iso(system.frozenAt ?? 0)) by \(system.frozenBy ?? "?"): \(system.frozenReason ?? "")")
            }
        }
        sink.line()
        func counts(_ severity: Check.Severity) -> String {
            result.counts(severity).map { "\($0.kind) \($0.count)" }.joined(separator: ", ")
        }
        let warningCount = result.warningCount
        let waivedText = result.waivedCount == 0 ? "" : "; \(result.waivedCount) waived (\(counts(.waived)))"
        if result.passed {
            sink.line("PASSED: nothing fails the check" + (warningCount == 0 ? "" : "; \(warningCount) warning\(warningCount == 1 ? "" : "s") (\(counts(.warning)))") + waivedText)
        } else {
            let failureCount = result.failureCount
            sink.line("FAILED: \(failureCount) finding\(failureCount == 1 ? "" : "s") (\(counts(.failure)))" + (warningCount == 0 ? "" : "; \(warningCount) warning\(warningCount == 1 ? "" : "s") (\(counts(.warning)))") + waivedText)
            // Failures are grouped by kind, so their kinds in order are the failing counts' kinds.
            for (kind, _) in result.counts(.failure) {
                sink.line("  fix \(kind): \(Check.remedy(kind))")
            }
        }
    }

    public static func findingRecord(_ f: Check.Finding) -> JSONObject {
        findingRecord(f, controls: Controls.json(forFinding: f.kind, rule: f.rule))
    }

    /// `controls`: the finding's controls, which depend only on its kind and rule, so a caller writing many
    /// findings computes them once per kind (at a million tokens, per finding cost a second of `check`).
    package static func findingRecord(_ f: Check.Finding, controls: JSON) -> JSONObject {
        var object: JSONObject = [
            "token": .string(f.tokenID), "owner": .string(f.ownerID), "agent": .string(f.agentID), "system": .string(f.system),
            "state": .string(f.kind), "severity": .string(f.severity.rawValue), "reason": .string(f.reason),
            "since": JSON.instant(f.since),
        ]
        if let rule = f.rule { object["rule"] = .string(rule) }
        if let w = f.waiver { object["waiver"] = waiverJSON(w) }
        // The framework controls the finding evidences (Sources/NHI/Rules/Controls.swift, Docs/controls.md).
        object["controls"] = controls
        return object
    }

    /// `findingRecord(f, controls:)` serialised, written straight into `out`; `controls` is the serialised JSON.
    package static func findingRecord(_ f: Check.Finding, controls: [UInt8], into out: inout OutputBytes) {
        out.append("{")
        out.jsonKey("token", first: true); out.jsonString(f.tokenID)
        out.jsonKey("owner"); out.jsonString(f.ownerID)
        out.jsonKey("agent"); out.jsonString(f.agentID)
        out.jsonKey("system"); out.jsonString(f.system)
        out.jsonKey("state"); out.jsonString(f.kind)
        out.jsonKey("severity"); out.jsonString(f.severity.rawValue)
        out.jsonKey("reason"); out.jsonString(f.reason)
        out.jsonKey("since"); out.jsonInstant(f.since)
        if let rule = f.rule { out.jsonKey("rule"); out.jsonString(rule) }
        if let w = f.waiver { out.jsonKey("waiver"); out.append(waiverJSON(w).serialized()) }
        out.jsonKey("controls"); out.append(contentsOf: controls)
        out.append("}")
    }

    /// A waived finding's `waiver` field: the exception, its reason, until and approver.
    package static func waiverJSON(_ w: StateException) -> JSON {
        ["exception": .string(w.id), "reason": .string(w.reason), "until": JSON.instant(w.until),
         "approved_by": w.approvedBy.map(JSON.string) ?? .null]
    }

    public static func json(_ result: Check.Result, sink: OutputSink) {
        func counts(_ severity: Check.Severity) -> JSON {
            .object(JSONObject(result.counts(severity).map { ($0.kind, JSON.int(Int64($0.count))) }))
        }
        var head: JSONObject = [
            "as_of": .string(Time.iso(result.asOf)), "passed": .bool(result.passed),
            "fail_on": .array(result.failOn.map(JSON.string)), "max_unused": .string(Duration.format(result.maxUnused)),
            "tokens": .int(result.totalTokens), "active_tokens": .int(result.activeCount),
            "failures": .int(Int64(result.failureCount)), "warnings": .int(Int64(result.warningCount)),
            "failure_counts": counts(.failure), "warning_counts": counts(.warning),
        ]
        // Only when there are any, so a check without exceptions prints what it printed before.
        if result.waivedCount > 0 {
            head["waived"] = .int(Int64(result.waivedCount))
            head["waived_counts"] = counts(.waived)
        }
        if !result.frozenSystems.isEmpty {
            head["frozen_systems"] = .array(result.frozenSystems.map { .string($0.id) })
        }
        // Streamed: each finding is written as bytes in the record's key order (`findingRecord`), never built
        // into a JSONObject or one string.
        var text = JSON.object(head).serialized()
        text.removeLast()
        sink.write(text + ",\"findings\":[")
        var controlsByKind: [String: [UInt8]] = [:]
        var out = OutputBytes()
        var first = true
        result.forEachFinding { f in
            let key = f.rule.map { f.kind + "\u{0}" + $0 } ?? f.kind
            let controls = controlsByKind[key] ?? Array(Controls.json(forFinding: f.kind, rule: f.rule).serialized().utf8)
            controlsByKind[key] = controls
            out.append(first ? "\n  " : ",\n  ")
            first = false
            findingRecord(f, controls: controls, into: &out)
            if out.count >= 1 << 15 { sink.write(&out) }
        }
        out.append(first ? "]}\n" : "\n]}\n")
        sink.write(&out)
    }
}
