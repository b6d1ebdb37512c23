import Foundation
import Testing

private let docRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Docs/governance.md's worked example runs as written: each `nhi` line of its block, in order, on one new store at the
/// documented instant, exits as the line says (0, or the `# exit N` it is marked with); and what the page says it
/// shows is what the commands print.
@Suite("Governance doc")
struct GovernanceDocTests {
    /// Shell words as sh reads these lines: spaces separate, single quotes group.
    static func words(_ line: String) -> [String] {
        var words: [String] = [], current = "", quoted = false, any = false
        for ch in line {
            if ch == "'" { quoted.toggle(); any = true; continue }
            if ch == " " && !quoted {
                if any || !current.isEmpty { words.append(current) }
                current = ""; any = false
                continue
            }
            current.append(ch)
        }
        if any || !current.isEmpty { words.append(current) }
        return words
    }

    static func exampleLines() throws -> [(args: [String], code: Int32)] {
        let text = try String(contentsOf: docRoot.appendingPathComponent("Docs/governance.md"), encoding: .utf8)
        let block = try #require(text.components(separatedBy: "<!-- worked-example -->\n```sh\n").dropFirst().first?
            .components(separatedBy: "\n```").first)
        return block.split(separator: "\n").map { raw in
            var line = String(raw), code: Int32 = 0
            if let mark = line.range(of: "# exit ") {
                code = Int32(line[mark.upperBound...].trimmingCharacters(in: .whitespaces)) ?? -1
                line = String(line[..<mark.lowerBound]).trimmingCharacters(in: .whitespaces)
            }
            return (Array(words(line).dropFirst()), code)
        }
    }

    @Test func theWorkedExampleRunsAsWritten() throws {
        let lines = try Self.exampleLines()
        #expect(lines.count >= 15)
        #expect(lines.allSatisfy { !$0.args.isEmpty })
        let s = Sandbox()
        var outputs: [String] = []
        for (args, code) in lines {
            let result = try s.run(args)
            #expect(result.code == code, "nhi \(args.joined(separator: " ")): exit \(result.code): \(result.err)")
            outputs.append(result.out + result.err)
        }
        let all = outputs.joined(separator: "\n")
        #expect(all.contains("nhi: error: system 'acme-gw' is frozen since 2026-06-01T00:00:00Z by carol: INC-981: gateway signing key exposed"))
        #expect(all.contains("\"token\":\"gh-triage\"") || all.contains("\"token\": \"gh-triage\""))
        #expect(all.contains("WAIVED  review-overdue  gh-triage-2  review due 2026-05-02"))
        #expect(all.contains("(exception EX-1 until 2026-06-15T00:00:00Z: first review booked for 2026-06-10)"))
        // From the exception's until on, the same check fails again.
        #expect(try s.run(["check", "--fail-on", "review-overdue"], env: ["NHI_NOW": "2026-06-15T00:00:00Z"]).code == 1)
    }
}
