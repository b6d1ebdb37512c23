/// `nhi check --format junit`: one test case per active token, a `<failure>` when a finding fails the check,
/// warnings in `<system-out>`. Elements and attributes follow the common junit-10.xsd (Docs/references.md §8),
/// which GitLab, Jenkins and GitHub test reporters read.
public enum JUnitOutput {
    public static func write(_ result: Check.Result, sink: OutputSink) {
        var byToken: [String: [Check.Finding]] = [:]
        for f in result.findings { byToken[f.tokenID, default: []].append(f) }
        var cases = result.activeTokens
        // A policy violation on a token that is not active still gets its test case.
        let known = Set(cases.map(\.id))
        for id in byToken.keys.sorted() where !known.contains(id) {
            let f = byToken[id]![0]
            cases.append(Check.TokenRef(id: id, ownerID: f.ownerID, agentID: f.agentID, system: f.system))
        }
        let failed = cases.filter { byToken[$0.id]?.contains { $0.severity == .failure } == true }.count
        let e = XML.escape
        // junit-10.xsd's timestamp has no zone designator; the value is UTC.
        let timestamp = String(Time.iso(result.asOf).dropLast())
        sink.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        sink.line("<testsuites name=\"nhi check\" tests=\"\(cases.count)\" failures=\"\(failed)\" errors=\"0\">")
        sink.line("  <testsuite name=\"nhi check\" tests=\"\(cases.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"0\" timestamp=\"\(timestamp)\">")
        sink.line("    <properties>")
        sink.line("      <property name=\"as_of\" value=\"\(Time.iso(result.asOf))\"/>")
        sink.line("      <property name=\"fail_on\" value=\"\(e(result.failOn.joined(separator: ",")))\"/>")
        sink.line("    </properties>")
        for token in cases {
            let findings = byToken[token.id] ?? []
            let classname = "nhi." + (token.system.isEmpty ? "token" : token.system)
            let open = "    <testcase classname=\"\(e(classname))\" name=\"\(e(token.id))\""
            if findings.isEmpty { sink.line(open + "/>"); continue }
            sink.line(open + ">")
            let failures = findings.filter { $0.severity == .failure }
            if !failures.isEmpty {
                let kinds = failures.map(\.kind).joined(separator: ",")
                let message = failures.map { "\($0.kind): \($0.reason)" }.joined(separator: "; ")
                var details = failures.map { "\($0.kind): \($0.reason)\n  fix: \(Check.remedy($0.kind))" }
                details.append("owner: \(token.ownerID), agent: \(token.agentID)")
                sink.line("      <failure type=\"\(e(kinds))\" message=\"\(e(message))\">\(e(details.joined(separator: "\n")))</failure>")
            }
            let warnings = findings.filter { $0.severity == .warning }
            if !warnings.isEmpty {
                sink.line("      <system-out>\(e(warnings.map { "warning \($0.kind): \($0.reason)" }.joined(separator: "\n")))</system-out>")
            }
            sink.line("    </testcase>")
        }
        sink.line("  </testsuite>")
        sink.line("</testsuites>")
    }
}
