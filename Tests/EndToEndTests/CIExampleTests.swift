import Foundation
import Testing

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private let hasPyYAML: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import yaml"]
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

/// Runs the `run:` steps of Docs/examples/github-actions.yml the way Actions does (bash -eo pipefail), with the
/// workflow's env, the built nhi on PATH, in a directory holding a store at the workflow's NHI_DB.
@Suite(.enabled(if: hasPyYAML, "python3 with PyYAML is not installed: the CI example's steps were not run"))
struct CIExampleTests {
    struct Step { let name: String; let run: String }

    func workflow() throws -> (env: [String: String], steps: [Step], uses: [String]) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                       repoRoot.appendingPathComponent("Docs/examples/github-actions.yml").path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = readAll(out.fileHandleForReading)
        p.waitUntilExit()
        let doc = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let env = try #require(doc["env"] as? [String: String])
        let job = try #require((doc["jobs"] as? [String: Any])?["check"] as? [String: Any])
        let steps = try #require(job["steps"] as? [[String: Any]])
        return (env, steps.compactMap { s in (s["run"] as? String).map { Step(name: s["name"] as? String ?? "", run: $0) } },
                steps.compactMap { $0["uses"] as? String })
    }

    func runStep(_ step: Step, in dir: String, env: [String: String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run]
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var environment = ProcessInfo.processInfo.environment
        for key in ["NHI_DB", "NHI_POLICY", "NHI_NOW", "NHI_ACTOR"] { environment[key] = nil }
        environment.merge(env) { $1 }
        environment["PATH"] = URL(fileURLWithPath: NHIBinary.path).deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A checkout of an inventory repository: the store at the workflow's NHI_DB.
    func checkout(env: [String: String], expired: Bool) throws -> Sandbox {
        let sandbox = Sandbox()
        let db = sandbox.path(env["NHI_DB"]!)
        try FileManager.default.createDirectory(atPath: (db as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        func ok(_ args: [String]) throws { try sandbox.ok(["--db", db] + args) }
        try ok(["owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com"])
        try ok(["agent", "add", "bot", "--system", "github", "--owner", "alice"])
        try ok(["token", "register", "gh-1", "--owner", "alice", "--purpose", "ci", "--system", "github", "--agent", "bot",
                "--expires", expired ? "2026-05-01" : "2026-12-31", "--issued-at", "2026-01-01"])
        return sandbox
    }

    @Test func usesTheUploadActionsWithThePermissionsTheyNeed() throws {
        let (env, steps, uses) = try workflow()
        #expect(uses.contains("github/codeql-action/upload-sarif@v3"))
        #expect(uses.contains("dorny/test-reporter@v1"))
        #expect(env["NHI_FAIL_ON"] == "expired,orphaned")
        #expect(steps.map(\.name) == ["Build nhi", "Check the inventory (SARIF and JUnit)", "Gate"])
        let text = try String(contentsOf: repoRoot.appendingPathComponent("Docs/examples/github-actions.yml"), encoding: .utf8)
        #expect(text.contains("security-events: write") && text.contains("checks: write"))
    }

    @Test func findingsWriteBothReportsAndFailOnlyTheGate() throws {
        var (env, steps, _) = try workflow()
        env["NHI_NOW"] = "2026-06-01T00:00:00Z"
        let sandbox = try checkout(env: env, expired: true)
        let report = try #require(steps.first { $0.name.hasPrefix("Check the inventory") })
        let gate = try #require(steps.first { $0.name == "Gate" })
        #expect(try runStep(report, in: sandbox.dir.path, env: env) == 0)
        let sarif = try jsonObject(try String(contentsOfFile: sandbox.path("nhi.sarif"), encoding: .utf8))
        #expect(sarif["version"] as? String == "2.1.0")
        let results = ((sarif["runs"] as? [[String: Any]])?.first?["results"] as? [[String: Any]]) ?? []
        #expect(results.contains { $0["ruleId"] as? String == "expired" && $0["level"] as? String == "error" })
        // The location is the store, relative to the repository root, as code scanning wants it.
        let location = ((results.first?["locations"] as? [[String: Any]])?.first?["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any]
        #expect(location?["uri"] as? String == env["NHI_DB"])
        let junit = try String(contentsOfFile: sandbox.path("nhi-junit.xml"), encoding: .utf8)
        #expect(junit.contains("<failure"))
        #expect(try runStep(gate, in: sandbox.dir.path, env: env) == 1)
    }

    @Test func aCleanInventoryPassesTheGate() throws {
        var (env, steps, _) = try workflow()
        env["NHI_NOW"] = "2026-06-01T00:00:00Z"
        let sandbox = try checkout(env: env, expired: false)
        for step in steps where step.name != "Build nhi" {
            #expect(try runStep(step, in: sandbox.dir.path, env: env) == 0, "step '\(step.name)' failed")
        }
    }

    @Test func aMissingStoreFailsTheReportStep() throws {
        let (env, steps, _) = try workflow()
        let sandbox = Sandbox()
        let report = try #require(steps.first { $0.name.hasPrefix("Check the inventory") })
        #expect(try runStep(report, in: sandbox.dir.path, env: env) != 0)
    }
}
