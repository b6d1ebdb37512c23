import Foundation
import Testing

/// `check --format sarif` within GitHub code scanning's limits (5,000 results kept, 25,000 the most in a run):
/// warnings left out unless --sarif-warnings, results the most severe first and capped by --sarif-max-results.
@Suite("SARIF limits")
struct SARIFLimitsTests {
    /// A generated store (scripts/gen-inventory.py, through the binary) with more findings than the cap tested.
    func generated() throws -> Sandbox {
        let s = Sandbox()
        try s.generate(tokens: 120)
        return s
    }

    func run(_ s: Sandbox, _ args: [String]) throws -> (results: [[String: Any]], properties: [String: Any], notes: [String], rules: [[String: Any]]) {
        let r = try s.run(["check", "--format", "sarif", "--fail-on", "expired,orphaned,foreign-use,rotation-overdue"] + args)
        #expect(r.code == 1, "\(r.err)")
        let log = try jsonObject(r.out)
        let run = try #require((log["runs"] as? [[String: Any]])?.first)
        let invocation = try #require((run["invocations"] as? [[String: Any]])?.first)
        let notes = ((invocation["toolExecutionNotifications"] as? [[String: Any]]) ?? []).compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
        let rules = try #require((run["tool"] as? [String: Any]).flatMap { $0["driver"] as? [String: Any] }?["rules"] as? [[String: Any]])
        return (try #require(run["results"] as? [[String: Any]]), try #require(run["properties"] as? [String: Any]), notes, rules)
    }

    @Test("warnings only with --sarif-warnings; over --sarif-max-results, the most severe first, the total stated")
    func capped() throws {
        let s = try generated()
        let all = try run(s, ["--sarif-warnings", "--sarif-max-results", "25000"])
        let failing = try run(s, [])
        let total = all.results.count
        #expect(total > 10)
        #expect(all.results.contains { $0["level"] as? String == "warning" })
        // By default only the failing states' results, and the warnings left out are counted.
        #expect(!failing.results.isEmpty && failing.results.allSatisfy { $0["level"] as? String == "error" })
        #expect(failing.properties["nhi-warnings-left-out"] as? Int == total - failing.results.count)
        #expect(failing.notes.contains { $0.contains("--sarif-warnings") })

        let severity = Dictionary(uniqueKeysWithValues: all.rules.map {
            ($0["id"] as? String ?? "", Double((($0["properties"] as? [String: Any])?["security-severity"] as? String) ?? "") ?? -1)
        })
        // Every rule has a security-severity in code scanning's range, as a string.
        #expect(severity.values.allSatisfy { $0 > 0 && $0 <= 10 })

        let capped = try run(s, ["--sarif-warnings", "--sarif-max-results", "10"])
        #expect(capped.results.count == 10)
        #expect(capped.properties["nhi-total-results"] as? Int == total)
        #expect(capped.properties["nhi-written-results"] as? Int == 10)
        #expect(capped.notes.contains { $0.contains("\(total) results, 10 written") })
        // Sorted by severity: errors before warnings, then security-severity descending.
        func rank(_ r: [String: Any]) -> (Int, Double) {
            (r["level"] as? String == "error" ? 0 : 1, -(severity[r["ruleId"] as? String ?? ""] ?? 0))
        }
        let ranks = capped.results.map(rank)
        #expect(zip(ranks, ranks.dropFirst()).allSatisfy { $0 <= $1 })
        // The 10 kept are the 10 most severe of all.
        #expect(ranks.map { "\($0)" } == all.results.map(rank).sorted { $0 < $1 }.prefix(10).map { "\($0)" })

        // One fingerprint per result, stable across runs.
        let prints = all.results.compactMap { ($0["partialFingerprints"] as? [String: String])?["primaryLocationLineHash"] }
        #expect(prints.count == total && Set(prints).count == total)
        let again = try run(s, ["--sarif-warnings", "--sarif-max-results", "25000"])
        #expect(again.results.compactMap { ($0["partialFingerprints"] as? [String: String])?["primaryLocationLineHash"] } == prints)
    }

    @Test("--sarif-max-results outside 1...25000 is a usage error (exit 2)")
    func badCap() throws {
        let s = try generated()
        for bad in ["0", "25001", "ten"] {
            let r = try s.run(["check", "--format", "sarif", "--sarif-max-results", bad])
            #expect(r.code == 2 && r.out.isEmpty && r.err.contains("--sarif-max-results"), "\(bad): \(r.err)")
        }
    }

    @Test("check --format github: an ::error per failure and ::warning per warning, the summary to --summary or appended to $GITHUB_STEP_SUMMARY")
    func github() throws {
        let s = try generated()
        let args = ["check", "--format", "github", "--fail-on", "expired,orphaned,foreign-use,rotation-overdue"]
        let r = try s.run(args + ["--summary", s.path("summary.md")])
        #expect(r.code == 1)
        let lines = r.out.split(separator: "\n").map(String.init)
        let errors = lines.filter { $0.hasPrefix("::error title=nhi ") }
        let warnings = lines.filter { $0.hasPrefix("::warning title=nhi ") }
        #expect(!errors.isEmpty && !warnings.isEmpty)
        #expect(errors.count <= 10 && warnings.count <= 10)
        for line in errors + warnings {
            // title=nhi <state>::<message>: the title has no unescaped ':' or ',' and the message no raw line break.
            let title = line.split(separator: "::")[0]
            #expect(title.wholeMatch(of: /(error|warning) title=nhi [a-z-]+/) != nil, "\(line)")
            #expect(line.contains("::Token "))
        }
        #expect(lines.last?.hasSuffix("FAILED") == true)
        let summary = try String(contentsOfFile: s.path("summary.md"), encoding: .utf8)
        #expect(summary.hasPrefix("## nhi check: failed"))
        #expect(summary.contains("| rotation-overdue | ") && summary.contains("### Failing findings"))
        // Without --summary, appended to $GITHUB_STEP_SUMMARY.
        let step = s.path("step.md")
        try "earlier step\n".write(toFile: step, atomically: true, encoding: .utf8)
        #expect(try s.run(args, env: ["GITHUB_STEP_SUMMARY": step]).code == 1)
        let appended = try String(contentsOfFile: step, encoding: .utf8)
        #expect(appended == "earlier step\n" + summary)
    }
}
