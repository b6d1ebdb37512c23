import Foundation
import Testing

/// What an attack on the store and the inputs found (issue 20): output that cannot be written, values out of
/// range, secrets echoed in messages, stores that can only be read.
@Suite(.bothEngines) struct HardeningTests {
    let core = CoreTests()

    /// Runs nhi with its standard output on `path` (a device such as /dev/full); stderr is captured.
    func run(_ sandbox: Sandbox, _ args: [String], stdoutTo path: String) throws -> (code: Int32, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NHIBinary.path)
        process.arguments = ["--db", sandbox.db] + args
        var env = ProcessInfo.processInfo.environment
        for key in ["NHI_DB", "NHI_POLICY", "NHI_ACTOR", "NHI_NOW", "NO_COLOR"] { env[key] = nil }
        env.merge(sandbox.environment) { $1 }
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: path)
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errData = readAll(errPipe.fileHandleForReading)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: errData, as: UTF8.self))
    }

    func seeded() throws -> Sandbox {
        let s = Sandbox()
        try s.seedBasics()
        #expect(try s.register("t1").code == 0)
        #expect(try s.register("t2").code == 0)
        return s
    }

    // MARK: 1. write errors

    @Test func outputToAFullDeviceExitsFour() throws {
        let s = try seeded()
        for args in [["export"], ["token", "list"], ["audit", "log"], ["check", "--format", "sarif"],
                     ["report", "owners", "--format", "json"], ["report", "html", "--out", "-"]] {
            let result = try run(s, args, stdoutTo: "/dev/full")
            #expect(result.code == 4, "nhi \(args.joined(separator: " ")) > /dev/full: exit \(result.code) \(result.err)")
            #expect(result.err == "nhi: error: cannot write standard output: No space left on device\n",
                    "nhi \(args.joined(separator: " ")): \(result.err)")
        }
        // The same commands to a writable device still succeed.
        #expect(try run(s, ["export"], stdoutTo: "/dev/null").code == 0)
        #expect(try run(s, ["check", "--format", "sarif"], stdoutTo: "/dev/null").code == 0)
    }

    @Test func htmlReportToAFullDeviceSaysNothingWasWritten() throws {
        let s = try seeded()
        // Through a link in the sandbox: an nhi without the fix renames its temporary file over the target, and
        // over /dev/full itself that would replace the machine's device with a file.
        let full = s.path("full")
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: "/dev/full")
        let result = try s.run(["report", "html", "--out", full])
        #expect(result.code == 4, "\(result.err)")
        #expect(!result.out.contains("wrote"), "\(result.out)")
        #expect(result.err == "nhi: error: cannot write \(full): No space left on device\n", "\(result.err)")
        // The link still leads to the device: the page was not renamed over it.
        var info = stat()
        #expect(stat(full, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
        // A regular file is still written whole, through the temporary file.
        let page = try s.run(["report", "html", "--out", s.path("r.html")])
        #expect(page.code == 0 && page.out.hasPrefix("wrote "))
        #expect(try String(contentsOfFile: s.path("r.html"), encoding: .utf8).hasSuffix("</html>\n"))
    }

    // MARK: 4. out-of-range integers

    @Test(.sqliteOnly("PostgreSQL refuses the edit itself: the generated due columns overflow BIGINT")) func outOfRangeInstantsAndDurationsExitFourNamingTheRow() throws {
        let cases: [(column: String, value: String)] = [
            ("last_used_at", "9223372036854775807"), ("last_used_at", "-9223372036854775807"),
            ("rotate_every", "9223372036854775807"), ("rotate_every", "-9223372036854775807"),
            ("issued_at", "9223372036854775807"), ("issued_at", "-9223372036854775807"),
            ("review_every", "-9223372036854775808"), ("expires_at", "-9223372036854775808"),
        ]
        for (column, value) in cases {
            let s = try seeded()
            _ = try core.sqlite(s.db, "UPDATE tokens SET \(column) = \(value) WHERE id = 't1'")
            let message = "token t1: \(column) \(value) is out of range"
            for args in [["check"], ["token", "show", "t1"], ["report", "owners"], ["report", "html", "--out", s.path("r.html")]] {
                try core.expectFailure(s, args, code: 4, message: message)
            }
            #expect(!FileManager.default.fileExists(atPath: s.path("r.html")))
            // Listing and verify never trap: the list prints the row, verify names the edit (exit 1).
            let list = try s.run(["token", "list", "--format", "json"])
            #expect(list.code == 0, "token list with \(column)=\(value): \(list.code) \(list.err)")
            let verify = try s.run(["audit", "verify"])
            #expect(verify.code == 1, "audit verify with \(column)=\(value): \(verify.code) \(verify.err)")
            #expect(verify.out.contains("token t1"), "\(verify.out)")
        }
    }

    // MARK: 3. what audit verify covers

    @Test(.sqliteOnly("edits the schema with SQLite triggers")) func verifyCatchesReviewsSchemaLabelsAndLastUse() throws {
        let tampers: [(what: String, sql: String, expect: String)] = [
            ("review inserted", "INSERT INTO reviews (token_id, decision, note, actor, at) VALUES ('t2', 'keep', 'forged', 'eve', 1780000000)",
             "review 2: has no audit entry"),
            ("review edited", "UPDATE reviews SET actor = 'eve'", "review 1: differs from its last audit entry"),
            ("review deleted", "DELETE FROM reviews", "review 1: is missing"),
            ("trigger added", "CREATE TRIGGER usage_rebind AFTER INSERT ON usage BEGIN UPDATE usage SET agent_id = 'bot' WHERE id = new.id; END",
             "schema trigger usage_rebind: is not created by nhi's migrations"),
            ("index dropped", "DROP INDEX reviews_by_token", "schema index reviews_by_token: is missing"),
            ("labels invalid", "UPDATE tokens SET labels = '{\"team\":' WHERE id = 't1'", "token t1: has labels that are not the JSON nhi writes"),
            ("last use moved forward", "UPDATE tokens SET last_used_at = 1790000000 WHERE id = 't1'",
             "token t1: has last_used_at 2026-09-21T14:13:20Z, later than its latest recorded use"),
        ]
        for (what, sql, expect) in tampers {
            let s = try seeded()
            try s.ok(["review", "t1", "--decision", "keep", "--note", "checked"])
            try s.ok(["usage", "record", "t1", "--agent", "bot", "--at", "2026-03-01"])
            #expect(try s.run(["audit", "verify"]).code == 0, "\(what): verify fails before the tamper")
            _ = try core.sqlite(s.db, sql)
            let verify = try s.run(["audit", "verify"])
            #expect(verify.code == 1, "\(what): verify exit \(verify.code) \(verify.out) \(verify.err)")
            #expect(verify.out.contains(expect), "\(what): \(verify.out)")
        }
    }

    // MARK: 5. secrets echoed in messages

    static let secret = "ghp_" + "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF3hJ6"

    @Test func messagesNeverEchoASecret() throws {
        let s = try seeded()
        let secret = HardeningTests.secret
        #expect(secret.count == 40)
        func noSecret(_ args: [String], useDB: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try s.run(args, useDB: useDB)
            #expect(result.code != 0, "nhi \(args): succeeded", sourceLocation: sourceLocation)
            #expect(!result.err.contains("ghp_"), "nhi \(args): \(result.err)", sourceLocation: sourceLocation)
            #expect(!result.out.contains("ghp_"), "nhi \(args): \(result.out)", sourceLocation: sourceLocation)
            #expect(!result.err.contains(String(secret.dropFirst(6).prefix(20))), "nhi \(args): \(result.err)", sourceLocation: sourceLocation)
        }
        try noSecret(["check", "--db", s.path("\(secret).db")], useDB: false)
        try noSecret(["import", s.path("\(secret).csv")])
        try noSecret(["check", "--policy", s.path("\(secret).json")])
        try noSecret(["usage", "import", s.path("\(secret).csv")])
        let unknownKey = s.path("unknown.ndjson")
        try #"{"kind":"owner","id":"carol","name":"C","email":"c@example.com","\#(secret)":"x"}"#.write(toFile: unknownKey, atomically: true, encoding: .utf8)
        try noSecret(["import", unknownKey, "--format", "ndjson"])
        let typeError = s.path("type.ndjson")
        try #"{"kind":"owner","id":"carol","name":["\#(secret)"],"email":"c@example.com"}"#.write(toFile: typeError, atomically: true, encoding: .utf8)
        try noSecret(["import", typeError, "--format", "ndjson"])
        let policy = s.path("policy.json")
        try #"{"version":1,"defaults":{"\#(secret)":"30d"}}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        try noSecret(["policy", "check", policy])
        // A secret pasted as an MCP server's name: scan prints neither it nor (as the value) more than 4 characters.
        let config = s.path("mcp.json")
        try #"{"mcpServers":{"\#(secret)":{"command":"x","env":{"GITHUB_TOKEN":"\#(secret)"}}}}"#.write(toFile: config, atomically: true, encoding: .utf8)
        for format in ["table", "json"] {
            let scan = try s.run(["scan", config, "--format", format])
            #expect(scan.code == 1, "\(scan.err)")
            #expect(scan.out.contains("GITHUB_TOKEN"), "\(scan.out)")
            #expect(!scan.out.contains(String(secret.prefix(8))) && !scan.err.contains(String(secret.prefix(8))), "\(scan.out)")
        }
    }

    // MARK: 6. read-only stores

    /// Runs nhi as the unprivileged user `nobody` (root reads a 0400 file anyway); nil when that is not possible.
    func runAsNobody(_ sandbox: Sandbox, _ args: [String]) throws -> RunResult? {
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
        process.arguments = ["-u", "nobody", "--", NHIBinary.path, "--db", sandbox.db] + args
        var env = ProcessInfo.processInfo.environment
        for key in ["NHI_DB", "NHI_POLICY", "NHI_ACTOR", "NHI_NOW", "NO_COLOR"] { env[key] = nil }
        env.merge(sandbox.environment) { $1 }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()
        let out = readAll(outPipe.fileHandleForReading)
        let err = readAll(errPipe.fileHandleForReading)
        process.waitUntilExit()
        return RunResult(code: process.terminationStatus, out: String(decoding: out, as: UTF8.self), err: String(decoding: err, as: UTF8.self))
    }

    static let readCommands: [[String]] = [["audit", "verify"], ["check"], ["export"], ["token", "list"], ["report", "owners"],
                                           ["report", "rotation-due"], ["report", "offboarding"], ["report", "controls"],
                                           ["report", "changes", "--from", "2026-01-01"], ["audit", "log"]]

    @Test(.sqliteOnly("file permissions"), arguments: [false, true]) func readCommandsWorkOnAWriteProtectedStore(readOnlyDirectory: Bool) throws {
        let s = try seeded()
        let expected = try HardeningTests.readCommands.map { try s.run($0) }
        let attrs = FileManager.default
        try attrs.setAttributes([.posixPermissions: 0o444], ofItemAtPath: s.db)
        try attrs.setAttributes([.posixPermissions: readOnlyDirectory ? 0o555 : 0o777], ofItemAtPath: s.dir.path)
        defer { try? attrs.setAttributes([.posixPermissions: 0o755], ofItemAtPath: s.dir.path) }
        let before = try s.contentHash()
        for (args, want) in zip(HardeningTests.readCommands, expected) {
            guard let result = try runAsNobody(s, args) else {
                print("skipped: running as an unprivileged user needs root and runuser")
                return
            }
            #expect(result.code == want.code, "nhi \(args) on a read-only store: \(result.code) \(result.err)")
            #expect(result.out == want.out, "nhi \(args): \(result.out)")
        }
        // A write is refused with a store error, and nothing changed.
        let write = try #require(try runAsNobody(s, ["owner", "add", "zed", "--name", "Z", "--email", "z@example.com"]))
        #expect(write.code == 4, "\(write.err)")
        #expect(try s.contentHash() == before)
        if readOnlyDirectory {
            #expect(try FileManager.default.contentsOfDirectory(atPath: s.dir.path).filter { $0.hasPrefix("nhi.db-") }.isEmpty)
        }
    }

    // MARK: 8. smaller

    @Test func duplicateJSONKeysAreRefused() throws {
        let s = try seeded()
        let file = s.path("dup.ndjson")
        try #"{"kind":"token","kind":"owner","id":"carol","name":"C","email":"c@example.com"}"#.write(toFile: file, atomically: true, encoding: .utf8)
        try core.expectFailure(s, ["import", file, "--format", "ndjson"], code: 3, message: "duplicate key 'kind'")
        let policy = s.path("policy.json")
        try #"{"version":1,"defaults":{"max_ttl":"30d","max_ttl":"900d"}}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        try core.expectFailure(s, ["policy", "check", policy], code: 3, message: "duplicate key 'max_ttl'")
    }

    @Test func inconsistentRecordsAreRefused() throws {
        let s = try seeded()
        let base = #""kind":"token","id":"t9","owner":"alice","purpose":"p","system":"github","agent":"bot","expires_at":"2026-12-31""#
        for (extra, message) in [(#","status":"revoked""#, "revoked_at"),
                                 (#","status":"active","revoked_at":"2026-05-01""#, "revoked_at"),
                                 (#","issued_at":"9999-12-30""#, "issued_at")] {
            let file = s.path("bad.ndjson")
            try "{\(base)\(extra)}".write(toFile: file, atomically: true, encoding: .utf8)
            try core.expectFailure(s, ["import", file, "--format", "ndjson"], code: 3, message: message)
        }
    }

    // MARK: 2. import memory bounded

    @Test func oversizedLinesFieldsAndEndlessErrorsAreBounded() throws {
        let s = try seeded()
        // One field over 1 MiB (CSV), one line over 4 MiB (ndjson): refused with the limit, nothing imported.
        let field = s.path("field.csv")
        try ("kind,id,name,email\nowner,carol,\"" + String(repeating: "x", count: (1 << 20) + 1) + "\",c@example.com\n")
            .write(toFile: field, atomically: true, encoding: .utf8)
        try core.expectFailure(s, ["import", field], code: 3, message: "a field is longer than 1 MiB")
        let line = s.path("line.ndjson")
        try (#"{"kind":"owner","id":"carol","name":""# + String(repeating: "x", count: 5 << 20) + "\"}\n")
            .write(toFile: line, atomically: true, encoding: .utf8)
        try core.expectFailure(s, ["import", line, "--format", "ndjson"], code: 3, message: "line 1 is longer than 4 MiB")
        try core.expectFailure(s, ["usage", "import", line], code: 3, message: "longer than 4 MiB")
        // 200 bad records: all counted, 50 listed, the rest summed up.
        let bad = s.path("bad.ndjson")
        try String(repeating: "{\"kind\":\"owner\"}\n", count: 200).write(toFile: bad, atomically: true, encoding: .utf8)
        let result = try s.run(["import", bad, "--format", "ndjson"])
        #expect(result.code == 3)
        #expect(result.err.hasPrefix("nhi: error: \(bad): 200 bad records; nothing was imported\n"), "\(result.err.prefix(300))")
        let details = result.err.split(separator: "\n").dropFirst()
        #expect(details.count == 51, "\(details.count)")
        #expect(details.last?.hasPrefix("  ... and ") == true && details.last?.hasSuffix(" more problems") == true)
    }
}
