import NHIBasics
import NHIFormats
import NHIModel
import NHIRules
import NHIReports
import NHIScan

/// `nhi scan` output: table (default), json, sarif. No format ever carries a secret or its fingerprint: values are
/// redacted by `Scanner.redact`, and the SARIF fingerprint hashes the location, not the value.
public enum ScanReport {
    public static let formats = ["table", "json", "sarif"]

    public static func write(_ result: ScanResult, format: String, sink: OutputSink, colour: Bool) {
        switch format {
        case "json": sink.line(json(result).serialized(pretty: true))
        case "sarif": sarif(result, sink: sink)
        default: table(result, sink: sink, colour: colour)
        }
    }

    /// One line of counts, for stderr.
    public static func summary(_ result: ScanResult) -> String {
        let tally = result.counts()
        let counts = ScanStatus.allCases.map { "\(tally[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
        let files = result.filesScanned == 1 ? "1 file" : "\(result.filesScanned) files"
        var text = "scanned \(files): \(counts)"
        if result.errors > 0 { text += "; \(result.errors) could not be scanned" }
        return text
    }

    package static func table(_ result: ScanResult, sink: OutputSink, colour: Bool) {
        guard !result.findings.isEmpty else {
            sink.line("no credentials found")
            return
        }
        let rows = result.findings.map { f in
            ["\(clean(f.file)):\(f.line)", clean(f.server), clean(f.key), f.value, statusText(f), f.token ?? "-"]
        }
        sink.write(Render.table(headers: ["LOCATION", "SERVER", "KEY", "VALUE", "STATUS", "TOKEN"], rows: rows, colour: colour))
    }

    package static func statusText(_ f: ScanFinding) -> String {
        f.tokenStates.count > 1 ? f.tokenStates.map(\.rawValue).joined(separator: ",") : f.status.rawValue
    }

    /// File, server and key names as they are, with control characters shown as `?` (no terminal escapes), and
    /// through the one redactor: a secret pasted as a server's name is not printed either.
    package static func clean(_ text: String) -> String { Redaction.printable(path: text) }

    package static func record(_ f: ScanFinding) -> JSON {
        var o = JSONObject()
        o["file"] = .string(clean(f.file))
        o["line"] = .int(Int64(f.line))
        o["server"] = .string(clean(f.server))
        o["key"] = .string(clean(f.key))
        o["pointer"] = .string(clean(f.pointer))
        o["value"] = .string(f.value)
        o["kind"] = .string(f.status == .indirect ? "indirect" : "credential")
        o["detector"] = f.detector.map(JSON.string) ?? .null
        o["status"] = .string(f.status.rawValue)
        o["token"] = f.token.map(JSON.string) ?? .null
        o["token_states"] = .array(f.tokenStates.map { .string($0.rawValue) })
        return .object(o)
    }

    package static func json(_ result: ScanResult) -> JSON {
        var summary = JSONObject()
        let tally = result.counts()
        for status in ScanStatus.allCases { summary[status.rawValue] = .int(Int64(tally[status] ?? 0)) }
        var o = JSONObject()
        o["files_scanned"] = .int(Int64(result.filesScanned))
        o["summary"] = .object(summary)
        o["findings"] = .array(result.findings.map(record))
        o["problems"] = .array(result.problems.map { p in
            .object(["file": .string(p.file), "message": .string(p.message), "level": .string(p.isError ? "error" : "note")])
        })
        return .object(o)
    }

    // MARK: SARIF 2.1.0 (Docs/references.md §7; the fields GitHub code scanning requires)

    package struct Rule {
        package let status: ScanStatus
        package let id: String
        package let name: String
        package let short: String
        package let full: String
        package let help: String
        package let severity: String
    }

    package static let rules: [Rule] = [
        Rule(status: .unregistered, id: "nhi-scan/unregistered-credential", name: "UnregisteredCredential",
             short: "Credential in an MCP client config is not in the inventory",
             full: "A literal credential sits in an MCP client configuration file and no registered token has its SHA-256 fingerprint: nobody owns it, reviews it or rotates it (secret sprawl).",
             help: "Replace the literal with a reference the client resolves at start-up (VS Code: ${input:ID} with a password input; Claude Code: ${VAR}; ${env:VAR}), and rotate the credential if the file was ever shared. If it must stay, register it deliberately: printf %s \"$TOKEN\" | nhi token register ID --owner O --purpose P --system S --agent A --expires DATE --secret-stdin.",
             severity: "8.0"),
        Rule(status: .revoked, id: "nhi-scan/revoked-credential", name: "RevokedCredential",
             short: "Revoked credential still in an MCP client config",
             full: "The credential matches a token that was revoked in the inventory, yet a client config still holds it.",
             help: "Remove it from the file, and make sure it is revoked at the issuer too; give the server a new, registered credential through a reference (${input:ID} or ${env:VAR}).",
             severity: "7.0"),
        Rule(status: .expired, id: "nhi-scan/expired-credential", name: "ExpiredCredential",
             short: "Credential in an MCP client config belongs to an expired token",
             full: "The credential matches a registered token that is active but past its expiry. " + DerivedState.expired.summary,
             help: DerivedState.expired.remedy + " Then update the config, preferably with a reference instead of the literal.",
             severity: "7.0"),
        Rule(status: .orphaned, id: "nhi-scan/orphaned-credential", name: "OrphanedCredential",
             short: "Credential in an MCP client config belongs to an orphaned token",
             full: "The credential matches a registered token that is orphaned. " + DerivedState.orphaned.summary,
             help: DerivedState.orphaned.remedy,
             severity: "7.0"),
    ]

    /// The log through `SARIFLog`, the writer `check --format sarif` uses too.
    package static func sarif(_ result: ScanResult, sink: OutputSink) {
        let ruleObjects: [JSON] = rules.map { r in
            .object([
                "id": .string(r.id), "name": .string(r.name),
                "shortDescription": .object(["text": .string(r.short)]),
                "fullDescription": .object(["text": .string(r.full)]),
                "help": .object(["text": .string(r.help)]),
                "defaultConfiguration": .object(["level": "error"]),
                "properties": .object(["tags": ["security", "secret"], "precision": "high", "security-severity": .string(r.severity)]),
            ])
        }
        let notifications: [JSON] = result.problems.map { p in
            .object([
                "level": .string(p.isError ? "error" : "note"),
                "message": .object(["text": .string(p.message)]),
                "locations": [.object(["physicalLocation": .object(["artifactLocation": .object(["uri": .string(uri(p.file))])])])],
            ])
        }
        var log = SARIFLog(rules: ruleObjects, executionSuccessful: result.errors == 0,
                           invocation: ["toolExecutionNotifications": .array(notifications)],
                           run: ["automationDetails": .object(["id": "nhi-scan/"])], sink: sink)
        for f in result.findings where f.status.fails {
            guard let index = rules.firstIndex(where: { $0.status == f.status }) else { continue }
            let what: String
            switch f.status {
            case .unregistered: what = "is not registered in the inventory"
            case .revoked: what = "belongs to token \(f.token ?? "?"), which is revoked"
            default: what = "belongs to token \(f.token ?? "?"), which is \(f.tokenStates.map(\.rawValue).joined(separator: " and "))"
            }
            let location = "\(f.file)\u{0}\(f.server)\u{0}\(f.key)\u{0}\(f.pointer)"
            log.result(.object([
                "ruleId": .string(rules[index].id), "ruleIndex": .int(Int64(index)), "level": "error",
                "message": .object(["text": .string("Credential \(f.value) in \(f.key) of MCP server '\(f.server)' \(what).")]),
                "locations": [.object(["physicalLocation": .object([
                    "artifactLocation": .object(["uri": .string(uri(f.file))]),
                    "region": .object(["startLine": .int(Int64(max(f.line, 1)))]),
                ])])],
                "partialFingerprints": .object(["nhiScanLocation/v1": .string(SHA256.hex(location))]),
            ]))
        }
        log.finish()
    }

    /// A relative path stays relative (code scanning resolves it against the repository root), without `./`;
    /// an absolute path becomes a `file://` URI. Characters outside RFC 3986's unreserved set and `/` are escaped.
    package static func uri(_ path: String) -> String {
        var p = path
        while p.hasPrefix("./") { p.removeFirst(2) }
        return (p.hasPrefix("/") ? "file://" : "") + SARIFLog.percentEncoded(p)
    }
}
