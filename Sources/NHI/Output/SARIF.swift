/// `nhi check --format sarif`: SARIF 2.1.0 with one rule per derived state (and `policy-violation`), each with
/// help that says how to fix it; one result per finding, located at the store file and named by the token
/// (Docs/references.md §7 lists the properties the schema and GitHub code scanning require).
public enum SARIFOutput {
    public static let schema = "https://json.schemastore.org/sarif-2.1.0.json"

    public static func rule(_ kind: String, failing: Bool) -> JSON {
        let summary = Check.summary(kind), remedy = Check.remedy(kind)
        let name = kind.split(separator: "-").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        // Controls the state evidences: as tags (code scanning filters on them) and in the help.
        let controls = Controls.controls(for: kind).sorted()
        let tags: [JSON] = ["security", "non-human-identity"] + controls.map { .string($0.tag) }
        let controlsMarkdown = controls.isEmpty ? "" : "\n\n**Controls:**\n" + controls.map {
            "- \($0.framework.title): \($0.id) \($0.title)"
        }.joined(separator: "\n")
        return [
            "id": .string(kind), "name": .string(name),
            "shortDescription": ["text": .string(summary)],
            "fullDescription": ["text": .string("\(summary) See Docs/reports.md for the exact definition.")],
            "help": ["text": .string("\(summary)\nFix: \(remedy)\n\(Controls.helpText(for: kind))"),
                     "markdown": .string("\(summary)\n\n**Fix:** \(remedy)\(controlsMarkdown)")],
            "defaultConfiguration": ["level": .string(failing ? "error" : "warning")],
            "properties": ["tags": .array(tags), "precision": "very-high"],
        ]
    }

    /// A file path as a URI reference: every byte but unreserved characters and `/` percent-encoded.
    static func percentEncoded(_ path: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in path.utf8 {
            let keep = (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E || b == 0x2F
            if keep { out.append(b) } else { out += [0x25, hex[Int(b >> 4)], hex[Int(b & 0xF)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `artifactURI` locates every result: the store file, as the user named it (`--db`).
    public static func write(_ result: Check.Result, artifactURI: String, sink: OutputSink) {
        let failing = Set(result.failOn)
        let uri = percentEncoded(artifactURI)
        let kinds = Check.kinds
        let index = Dictionary(uniqueKeysWithValues: kinds.enumerated().map { ($1, $0) })
        let driver: JSON = [
            "name": "nhi", "version": .string(Version.string), "semanticVersion": .string(Version.string),
            "rules": .array(kinds.map { rule($0, failing: failing.contains($0)) }),
        ]
        let head: JSONObject = [
            "$schema": .string(schema), "version": "2.1.0",
        ]
        let run: JSONObject = [
            "tool": ["driver": driver],
            "invocations": [["executionSuccessful": true,
                             "properties": ["as_of": .string(Time.iso(result.asOf)),
                                            "fail_on": .array(result.failOn.map(JSON.string))]]],
            "columnKind": "unicodeCodePoints",
        ]
        // Streamed: the log is written piecewise so the results of a large inventory are never one string.
        var text = JSON.object(head).serialized()
        text.removeLast()
        var runText = JSON.object(run).serialized()
        runText.removeLast()
        sink.write(text + ",\"runs\":[" + runText + ",\"results\":[")
        // A finding's controls depend only on its kind and rule: computed once per kind, not per finding.
        var tagsByKind: [String: JSON] = [:]
        for (i, f) in result.findings.enumerated() {
            let key = f.rule.map { f.kind + "\u{0}" + $0 } ?? f.kind
            let tags = tagsByKind[key] ?? .array(Controls.controls(forFinding: f.kind, rule: f.rule).map { .string($0.tag) })
            tagsByKind[key] = tags
            let result: JSON = [
                "ruleId": .string(f.kind), "ruleIndex": .int(Int64(index[f.kind] ?? 0)),
                "level": .string(f.severity == .failure ? "error" : "warning"),
                "message": ["text": .string("Token \(f.tokenID) is \(f.kind): \(f.reason). \(Check.remedy(f.kind))")],
                "locations": [[
                    "physicalLocation": ["artifactLocation": ["uri": .string(uri)], "region": ["startLine": 1]],
                    "logicalLocations": [["name": .string(f.tokenID), "fullyQualifiedName": .string("tokens/\(f.tokenID)"),
                                          "kind": "resource"]],
                ]],
                // Stable across runs, so code scanning tracks one alert per token and state.
                "partialFingerprints": ["primaryLocationLineHash": .string(String(SHA256.hex("\(f.tokenID)\u{0}\(f.kind)").prefix(32)))],
                "properties": ["token": .string(f.tokenID), "owner": .string(f.ownerID), "agent": .string(f.agentID),
                               "since": JSON.instant(f.since),
                               "controls": tags],
            ]
            sink.write((i == 0 ? "\n" : ",\n") + result.serialized())
        }
        sink.write("\n]}]}\n")
    }
}
