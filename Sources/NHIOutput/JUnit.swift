import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan

/// `nhi check --format junit`: one test case per active token, a `<failure>` when a finding fails the check,
/// warnings in `<system-out>`. Elements and attributes follow the common junit-10.xsd (Docs/references.md §8),
/// which GitLab, Jenkins and GitHub test reporters read. Every suite and case has `time` (dorny/test-reporter reads
/// a missing one as NaN): the suites carry the check's evaluation time, the cases `0.000`, since a token's states
/// are evaluated together and have no time of their own (Docs/guide-ci.md).
public enum JUnitOutput {
    /// Seconds with three decimals, junit-10.xsd's SUREFIRE_TIME without thousands separators (which
    /// dorny/test-reporter's `parseFloat` would misread).
    public static func seconds(milliseconds: Int64) -> String {
        let ms = max(0, milliseconds)
        let frac = String(ms % 1000)
        return "\(ms / 1000)." + String(repeating: "0", count: 3 - frac.count) + frac
    }

    /// `activeTokens` streams the active tokens in id order (the caller reads them in the check's read transaction:
    /// `Check.forEachActiveToken`), alongside the check's token states (also in id order), so neither the tokens
    /// nor their findings are held as a list.
    /// `elapsedMilliseconds`: how long the check's evaluation took, the suites' `time`.
    public static func write(_ result: Check.Result, elapsedMilliseconds: Int64,
                             activeTokens: ((Check.TokenRef) throws -> Void) throws -> Void, sink: OutputSink) throws {
        var violationsByToken: [String: [Check.Finding]] = [:]
        for v in result.violations { violationsByToken[v.tokenID, default: []].append(v) }
        // A policy violation on a token that is not active still gets its test case.
        let tests = Int(result.activeCount) + result.inactiveViolationTokens.count
        let failed = result.failedTokens
        let e = XML.escape
        // junit-10.xsd's timestamp has no zone designator; the value is UTC.
        let timestamp = String(Time.iso(result.asOf).dropLast())
        let time = seconds(milliseconds: elapsedMilliseconds)
        sink.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        sink.line("<testsuites name=\"nhi check\" tests=\"\(tests)\" failures=\"\(failed)\" errors=\"0\" time=\"\(time)\">")
        sink.line("  <testsuite name=\"nhi check\" tests=\"\(tests)\" failures=\"\(failed)\" errors=\"0\" skipped=\"0\" time=\"\(time)\" timestamp=\"\(timestamp)\">")
        sink.line("    <properties>")
        sink.line("      <property name=\"as_of\" value=\"\(Time.iso(result.asOf))\"/>")
        sink.line("      <property name=\"fail_on\" value=\"\(e(result.failOn.joined(separator: ",")))\"/>")
        sink.line("    </properties>")
        var out = OutputBytes()
        var remedies: [String: String] = [:]
        var failures: [Check.Finding] = [], warnings: [Check.Finding] = [], waived: [Check.Finding] = []
        func testCase(id: String, ownerID: String, agentID: String, system: String) {
            out.append("    <testcase classname=\"")
            if system.isEmpty { out.append("nhi.token") } else { out.append("nhi."); out.xml(system) }
            out.append("\" name=\""); out.xml(id); out.append("\" time=\"0.000\"")
            if failures.isEmpty && warnings.isEmpty && waived.isEmpty { out.append("/>\n"); return }
            out.append(">\n")
            // A waived state is a property of the test case (it neither fails nor hides): state, exception, until, reason.
            if !waived.isEmpty {
                out.append("      <properties>\n")
                for f in waived {
                    guard let w = f.waiver else { continue }
                    out.append("        <property name=\"waived:"); out.xml(f.kind); out.append("\" value=\"")
                    out.xml(w.id); out.append(" until "); out.xml(Time.iso(w.until)); out.append(": "); out.xml(w.reason)
                    out.append("\"/>\n")
                }
                out.append("      </properties>\n")
            }
            // The attribute and element texts are written piece by piece: escaping is per character, so the
            // pieces escaped one after another equal their joined text escaped.
            if !failures.isEmpty {
                out.append("      <failure type=\"")
                for (i, f) in failures.enumerated() {
                    if i > 0 { out.append(",") }
                    out.xml(f.kind)
                }
                out.append("\" message=\"")
                for (i, f) in failures.enumerated() {
                    if i > 0 { out.append("; ") }
                    out.xml(f.kind); out.append(": "); out.xml(f.reason)
                }
                out.append("\">")
                for f in failures {
                    let remedy = remedies[f.kind] ?? Check.remedy(f.kind)
                    remedies[f.kind] = remedy
                    out.xml(f.kind); out.append(": "); out.xml(f.reason); out.append("\n  fix: "); out.xml(remedy)
                    out.append("\n")
                }
                out.append("owner: "); out.xml(ownerID); out.append(", agent: "); out.xml(agentID)
                out.append("</failure>\n")
            }
            if !warnings.isEmpty {
                out.append("      <system-out>")
                for (i, f) in warnings.enumerated() {
                    if i > 0 { out.append("\n") }
                    out.append("warning "); out.xml(f.kind); out.append(": "); out.xml(f.reason)
                }
                out.append("</system-out>\n")
            }
            out.append("    </testcase>\n")
        }
        func add(_ f: Check.Finding) {
            switch f.severity {
            case .failure: failures.append(f)
            case .warning: warnings.append(f)
            case .waived: waived.append(f)
            }
        }
        let handles = result.states.handles
        var next = 0
        var nextID = handles.isEmpty ? nil : result.states.tokenID(handles[0])
        try activeTokens { token in
            let id = token.id
            failures.removeAll(keepingCapacity: true)
            warnings.removeAll(keepingCapacity: true)
            waived.removeAll(keepingCapacity: true)
            // The token's states, in kind order, then its policy violations (by rule): the order of the findings.
            if let expected = nextID, expected == id {
                let ts = result.states[handles[next]]
                for state in ts.states { add(result.finding(ts, state, waiver: result.waiver(handles[next], state.severityRank))) }
                next += 1
                nextID = next < handles.count ? result.states.tokenID(handles[next]) : nil
            }
            if !violationsByToken.isEmpty, let found = violationsByToken[id] { found.forEach(add) }
            testCase(id: id, ownerID: token.ownerID, agentID: token.agentID, system: token.system)
            if out.count >= 1 << 15 { sink.write(&out) }
        }
        for id in result.inactiveViolationTokens {
            failures.removeAll(keepingCapacity: true)
            warnings.removeAll(keepingCapacity: true)
            waived.removeAll(keepingCapacity: true)
            let found = violationsByToken[id] ?? []
            found.forEach(add)
            let f = found[0]
            testCase(id: id, ownerID: f.ownerID, agentID: f.agentID, system: f.system)
        }
        out.append("  </testsuite>\n</testsuites>\n")
        sink.write(&out)
    }
}
