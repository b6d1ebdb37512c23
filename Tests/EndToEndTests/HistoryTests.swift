import Foundation
import Testing
@testable import NHIStore

/// The guarantee of SPEC 'Time: "as of" means the inventory as it was': a command run at T and the same command
/// run later with `--as-of T` print the same bytes (issue 14 item 6, the definition of done). A scripted history
/// with a pinned clock captures every report's, check's, list's, show's and export's machine output at several
/// instants, then makes later changes of every kind, then replays each capture with `--as-of`.
@Suite("History: as of a past instant", .bothEngines)
struct HistoryTests {
    /// Every read whose output the guarantee covers (the html page is compared without its generation time).
    static let reads: [[String]] = {
        var reads: [[String]] = []
        for format in ["json", "junit", "sarif"] { reads.append(["check", "--format", format, "--fail-on", "expired"]) }
        for format in ["json", "csv", "ndjson"] {
            reads.append(["report", "rotation-due", "--format", format])
            reads.append(["report", "review-due", "--format", format])
            reads.append(["report", "expiring", "--within", "90d", "--format", format])
            reads.append(["report", "offboarding", "--format", format])
            reads.append(["report", "owners", "--format", format])
            reads.append(["report", "controls", "--format", format])
            reads.append(["report", "scopes", "--format", format])
            reads.append(["token", "list", "--format", format])
            reads.append(["owner", "list", "--format", format])
            reads.append(["agent", "list", "--format", format])
            reads.append(["export", "--format", format])
        }
        for format in ["json", "csv", "ndjson"] {
            reads.append(["report", "systems", "--format", format])
            reads.append(["system", "list", "--format", format])
            reads.append(["exception", "list", "--format", format])
            reads.append(["exception", "list", "--all", "--format", format])
        }
        for id in ["github", "slack"] { reads.append(["system", "show", id, "--format", "json"]) }
        reads.append(["report", "systems"])
        for id in ["t1", "t2", "t3", "t4"] { reads.append(["token", "show", id, "--format", "json"]) }
        reads.append(["owner", "show", "dave", "--format", "json"])
        reads.append(["agent", "show", "a2", "--format", "json"])
        reads.append(["report", "owners"])
        reads.append(["report", "scopes"])
        reads.append(["check"])
        return reads
    }()

    /// What `report changes --from` the second capture lists after the later changes (checked by hand against the
    /// script below: every kind SPEC names that this inventory has).
    static let changesSinceSecond = """
        at,change,kind,id,from,to,detail,actor,command,seq
        2026-04-01T00:00:00Z,rebound,token,t1,a1,a2,,tester,token update,25
        2026-04-01T00:00:00Z,scopes removed,token,t1,repo:write,,,tester,token update,25
        2026-04-01T00:00:00Z,revoked,token,t1,,,leaked,tester,token revoke,26
        2026-04-01T00:00:00Z,transferred,token,t2,bob,alice,,tester,token transfer,27
        2026-04-01T00:00:00Z,rotated,token,t3,,2026-04-01T00:00:00Z,,tester,token rotate,28
        2026-04-01T00:00:00Z,expiry changed,token,t3,never,2026-09-01T00:00:00Z,not extended,tester,token rotate,28
        2026-04-01T00:00:00Z,expiry changed,token,t4,2027-01-01T00:00:00Z,2027-06-01T00:00:00Z,extended,tester,token update,29
        2026-04-01T00:00:00Z,scopes added,token,t4,,deploy,,tester,token update,29
        2026-04-02T00:00:00Z,transferred,token,t3,dave,bob,,tester,offboard owner,34
        2026-04-02T00:00:00Z,owner departed,owner,dave,,,Dave,tester,offboard owner,35
        2026-04-03T00:00:00Z,agent decommissioned,agent,a2,,,owner bob,tester,agent decommission,36
        2026-04-03T00:00:00Z,revoked,token,t2,,,agent a2 decommissioned,tester,agent decommission,37
        2026-04-03T00:00:00Z,revoked,token,t5,,,agent a2 decommissioned,tester,agent decommission,38
        2026-04-03T00:00:00Z,exception ended,exception,EX-2,,,revoked: foreign-use of token t2: runner split,tester,exception revoke,39
        2026-04-03T00:00:00Z,system frozen,system,github,,2026-04-03T00:00:00Z,incident 9,tester,system freeze,41
        2026-04-20T00:00:00Z,exception ended,exception,EX-3,,,lapsed: review-overdue of token t3,tester,exception add,24

        """

    /// Between the two captures: slack unfrozen, EX-2 and EX-3 granted, EX-1 lapsed at its until (placed there, under
    /// the entry that granted it), t5 registered.
    static let changesBetweenCaptures = """
        at,change,kind,id,from,to,detail,actor,command,seq
        2026-02-15T12:00:00Z,rotated,token,t4,,2026-02-15T12:00:00Z,,tester,token rotate,19
        2026-02-17T00:00:00Z,exception granted,exception,EX-2,,2026-04-10T00:00:00Z,foreign-use of token t2: shared runner,tester,exception add,21
        2026-02-18T00:00:00Z,system unfrozen,system,slack,2026-01-25T00:00:00Z,,keys rotated,tester,system unfreeze,22
        2026-02-20T00:00:00Z,registered,token,t5,,bob,"agent a2, expires 2026-03-22T00:00:00Z",tester,token register,23
        2026-03-01T00:00:00Z,exception ended,exception,EX-1,,,lapsed: no-expiry of token t3,tester,exception add,15
        2026-03-01T00:00:00Z,exception granted,exception,EX-3,,2026-04-20T00:00:00Z,review-overdue of token t3: review board in April,tester,exception add,24

        """

    func at(_ box: Sandbox, _ instant: String, _ args: [String], stdin: String? = nil) throws {
        box.environment["NHI_NOW"] = instant
        let result = try box.run(args, stdin: stdin)
        #expect(result.code == 0, "nhi \(args.joined(separator: " ")) at \(instant): \(result.err)")
    }

    /// Each read's output (exit code and stdout), run at `now`, optionally `--as-of` another instant.
    func capture(_ box: Sandbox, now: String, asOf: String? = nil) throws -> [String: String] {
        box.environment["NHI_NOW"] = now
        var outputs: [String: String] = [:]
        for read in Self.reads {
            let result = try box.run(read + (asOf.map { ["--as-of", $0] } ?? []))
            // JUnit's `time` attributes are measured durations, like the HTML page's generation time.
            let out = result.out.replacingOccurrences(of: #" time="[0-9.]+""#, with: " time=\"\"", options: .regularExpression)
            outputs[read.joined(separator: " ")] = "exit \(result.code)\n" + out
        }
        let page = box.path("page.html")
        let html = try box.run(["report", "html", "--out", page] + (asOf.map { ["--as-of", $0] } ?? []))
        #expect(html.code == 0, "report html: \(html.err)")
        let text = try String(contentsOfFile: page, encoding: .utf8)
        // The page's generation time is the one thing allowed to differ.
        outputs["report html"] = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("Generated") && !$0.contains("id=\"generated\"") }.joined(separator: "\n")
        return outputs
    }

    @Test("each capture instant replays byte for byte after later changes of every kind")
    func replay() throws {
        let box = Sandbox()
        let day0 = "2026-01-10T09:00:00Z"
        try at(box, day0, ["owner", "add", "alice", "--name", "Alice", "--email", "alice@example.com", "--team", "iam"])
        try at(box, day0, ["owner", "add", "bob", "--name", "Bob", "--email", "bob@example.com"])
        try at(box, day0, ["owner", "add", "dave", "--name", "Dave", "--email", "dave@example.com"])
        // Systems and exceptions are part of the history: github and slack registered (jira never is), slack frozen
        // before the first capture and unfrozen before the second, exceptions granted, lapsed and revoked between.
        try at(box, day0, ["system", "add", "github", "--policy-owner", "alice", "--platform-owner", "bob"])
        try at(box, day0, ["system", "add", "slack", "--policy-owner", "bob", "--platform-owner", "bob", "--managed-by", "vendor"])
        try at(box, day0, ["agent", "add", "a1", "--system", "github", "--owner", "alice"])
        try at(box, day0, ["agent", "add", "a2", "--system", "slack", "--owner", "bob"])
        try at(box, day0, ["agent", "add", "a3", "--system", "jira", "--owner", "dave"])
        try at(box, day0, ["token", "register", "t1", "--owner", "alice", "--purpose", "ci", "--system", "github",
                           "--agent", "a1", "--expires", "2026-12-31", "--scopes", "repo:read,repo:write", "--label", "env=prod"])
        try at(box, day0, ["token", "register", "t2", "--owner", "bob", "--purpose", "bot", "--system", "slack",
                           "--agent", "a2", "--expires", "2026-03-01", "--rotate-every", "30d"])
        try at(box, day0, ["token", "register", "t3", "--owner", "dave", "--purpose", "sync", "--system", "jira",
                           "--agent", "a3", "--expires", "never", "--review-every", "2w"], stdin: nil)
        try at(box, day0, ["token", "register", "t4", "--owner", "alice", "--purpose", "deploy", "--system", "github",
                           "--agent", "a1", "--expires", "2027-01-01", "--environment", "prod"])
        try at(box, "2026-01-20T10:00:00Z", ["usage", "record", "t1", "--agent", "a1", "--at", "2026-01-20T09:00:00Z",
                                                    "--scope", "repo:read"])
        try at(box, "2026-01-21T10:00:00Z", ["usage", "record", "t2", "--agent", "a3"])
        try at(box, "2026-01-22T00:00:00Z", ["exception", "add", "t3", "--state", "no-expiry", "--until", "2026-03-01",
                                             "--reason", "vendor API has no expiry", "--approved-by", "alice"])
        try at(box, "2026-01-25T00:00:00Z", ["system", "freeze", "slack", "--reason", "incident 7"])

        let first = "2026-02-01T00:00:00Z"
        let captured1 = try capture(box, now: first)

        try at(box, "2026-02-15T12:00:00Z", ["review", "t1", "--decision", "keep", "--note", "fine"])
        try at(box, "2026-02-15T12:00:00Z", ["token", "rotate", "t4"])
        try at(box, "2026-02-16T12:00:00Z", ["usage", "record", "t3", "--agent", "a3", "--scope", "admin"])
        try at(box, "2026-02-17T00:00:00Z", ["exception", "add", "t2", "--state", "foreign-use", "--until", "2026-04-10",
                                             "--reason", "shared runner", "--approved-by", "bob"])
        try at(box, "2026-02-18T00:00:00Z", ["system", "unfreeze", "slack", "--note", "keys rotated"])
        try at(box, "2026-02-20T00:00:00Z", ["token", "register", "t5", "--owner", "bob", "--purpose", "late",
                                             "--system", "slack", "--agent", "a2", "--expires", "+30d"])
        try at(box, "2026-03-01T00:00:00Z", ["exception", "add", "t3", "--state", "review-overdue", "--until", "2026-04-20",
                                             "--reason", "review board in April"])
        let second = "2026-03-15T00:00:00Z"
        let captured2 = try capture(box, now: second)

        // Later changes of every kind.
        let later = "2026-04-01T00:00:00Z"
        try at(box, later, ["token", "update", "t1", "--scopes", "repo:read", "--agent", "a2"])
        try at(box, later, ["token", "revoke", "t1", "--reason", "leaked"])
        try at(box, later, ["token", "transfer", "t2", "--to", "alice"])
        try at(box, later, ["token", "rotate", "t3", "--expires", "2026-09-01"])
        try at(box, later, ["token", "update", "t4", "--expires", "2027-06-01", "--scopes", "deploy"])
        try at(box, later, ["review", "t4", "--decision", "keep"])
        try at(box, later, ["usage", "record", "t4", "--agent", "a2", "--scope", "deploy", "--scope", "admin"])
        try at(box, "2026-04-02T00:00:00Z", ["offboard", "owner", "dave", "--transfer-to", "bob"])
        try at(box, "2026-04-03T00:00:00Z", ["agent", "decommission", "a2"])
        try at(box, "2026-04-03T00:00:00Z", ["exception", "revoke", "EX-2", "--note", "runner split"])
        try at(box, "2026-04-03T00:00:00Z", ["system", "update", "slack", "--platform-owner", "alice", "--boundary", "vendor runs the MCP layer"])
        try at(box, "2026-04-03T00:00:00Z", ["system", "freeze", "github", "--reason", "incident 9"])
        box.environment["NHI_NOW"] = "2026-04-04T00:00:00Z"
        let export = try box.run(["export", "--format", "json"]).out
        let edited = export.replacingOccurrences(of: "\"purpose\": \"late\"", with: "\"purpose\": \"renamed\"")
            .replacingOccurrences(of: "\"purpose\":\"late\"", with: "\"purpose\":\"renamed\"")
        #expect(edited != export, "the export names t5's purpose")
        try edited.write(toFile: box.path("update.json"), atomically: true, encoding: .utf8)
        try at(box, "2026-04-04T00:00:00Z", ["import", box.path("update.json"), "--format", "json", "--on-conflict", "update"])

        let now = "2026-05-01T00:00:00Z"
        for (instant, captured) in [(first, captured1), (second, captured2)] {
            let replayed = try capture(box, now: now, asOf: instant)
            for read in captured.keys.sorted() {
                let same = replayed[read] == captured[read]
                if !same, ProcessInfo.processInfo.environment["NHI_HISTORY_DEBUG"] != nil {
                    try? captured[read]!.write(toFile: "/tmp/hist-captured.txt", atomically: true, encoding: .utf8)
                    try? (replayed[read] ?? "").write(toFile: "/tmp/hist-replayed.txt", atomically: true, encoding: .utf8)
                }
                #expect(same, "nhi \(read) --as-of \(instant) differs from the run at \(instant)")
            }
        }
        // The later changes are visible now (the replay is not just an unchanged store).
        let current = try capture(box, now: now, asOf: first)
        box.environment["NHI_NOW"] = now
        #expect(try box.run(["token", "show", "t1", "--format", "json"]).out != current["token show t1 --format json"])
        #expect(try box.run(["audit", "verify"]).code == 0)
        // Least privilege as it was: t1's unexercised repo:write at the first capture, t3's use of an ungranted scope at
        // the second; t1 is revoked since, and t4's later use counts only from its own instant.
        #expect(captured1["report scopes --format csv"]?.contains("repo:write") == true, "\(captured1["report scopes --format csv"] ?? "")")
        #expect(captured2["report scopes --format csv"]?.contains("admin") == true, "\(captured2["report scopes --format csv"] ?? "")")
        #expect("exit 0\n" + (try box.run(["report", "scopes", "--format", "csv"]).out) != captured1["report scopes --format csv"])

        // The access review between the second capture and now reads every later change, oldest first.
        let changes = try box.run(["report", "changes", "--from", second, "--format", "csv"])
        if ProcessInfo.processInfo.environment["NHI_HISTORY_DEBUG"] != nil { print(changes.out) }
        #expect(changes.out.replacingOccurrences(of: "\r\n", with: "\n") == Self.changesSinceSecond, "\(changes.out)")
        let between = try box.run(["report", "changes", "--from", first, "--to", second, "--format", "csv"])
        #expect(between.out.replacingOccurrences(of: "\r\n", with: "\n") == Self.changesBetweenCaptures, "\(between.out)")
        // The same rows in the other formats (one record definition): table, json, ndjson.
        for format in ["table", "json", "ndjson"] {
            let out = try box.run(["report", "changes", "--from", first, "--to", second, "--format", format]).out
            for text in ["system unfrozen", "keys rotated", "exception granted", "lapsed: no-expiry of token t3", "exception add"] {
                #expect(out.contains(text), "report changes --format \(format) names \(text)")
            }
        }
        #expect(try box.run(["report", "changes", "--from", first, "--to", second, "--format", "ndjson"]).out
                .split(separator: "\n").count == 6)
        // Systems and exceptions read as they were: slack frozen and EX-1 holding at the first capture, not now.
        box.environment["NHI_NOW"] = now
        for read in ["system show slack --format json", "exception list --all --format csv", "report systems --format csv"] {
            let args = read.split(separator: " ").map(String.init)
            #expect(try box.run(args).out != captured1[read], "nhi \(read) now differs from the first capture")
        }
        #expect(captured1["system show slack --format json"]?.contains("incident 7") == true)
        #expect(captured1["exception list --format csv"]?.contains("EX-1") == true)
        let none = try box.run(["report", "changes", "--from", "2026-05-01", "--to", "2026-04-01"])
        #expect(none.code == 3 && none.err.contains("--from (2026-05-01T00:00:00Z) is after --to"))
    }

    @Test("a past instant shows a record created later as absent and a future one evaluates the current records")
    func pastAndFuture() throws {
        let box = Sandbox()
        try at(box, "2026-01-01T00:00:00Z", ["owner", "add", "alice", "--name", "Alice", "--email", "a@example.com"])
        try at(box, "2026-01-01T00:00:00Z", ["agent", "add", "a1", "--system", "s", "--owner", "alice"])
        try at(box, "2026-03-01T00:00:00Z", ["token", "register", "t1", "--owner", "alice", "--purpose", "p",
                                             "--system", "s", "--agent", "a1", "--expires", "2026-06-01"])
        box.environment["NHI_NOW"] = "2026-04-01T00:00:00Z"
        let absent = try box.run(["token", "show", "t1", "--as-of", "2026-02-01"])
        #expect(absent.code == 3)
        #expect(absent.err.contains("unknown token 't1'"))
        #expect(try box.run(["token", "list", "--format", "csv", "--as-of", "2026-02-01"]).out.split(separator: "\n").count <= 1)
        // The future: the current token, evaluated then (expired by July).
        let future = try box.run(["check", "--format", "json", "--as-of", "2026-07-01"])
        #expect(future.code == 1)
        #expect(future.out.contains("\"expired\""))
    }
}

/// Migration 7 on a store of schema 5 (systems and exceptions without history): the versions are rebuilt from the
/// audit trail, the same rows the write path records, so as-of reads and `audit verify` agree before and after.
@Suite("History: systems and exceptions rebuilt on migration 7")
struct GovernanceHistoryMigrationTests {
    @Test("the rebuilt systems_history and exceptions_history equal what the write path wrote")
    func rebuild() throws {
        let box = Sandbox()
        func at(_ instant: String, _ args: [String]) throws {
            box.environment["NHI_NOW"] = instant
            let result = try box.run(args)
            #expect(result.code == 0, "nhi \(args.joined(separator: " ")): \(result.err)")
        }
        try at("2026-01-01T00:00:00Z", ["owner", "add", "alice", "--name", "Alice", "--email", "a@example.com"])
        try at("2026-01-01T00:00:00Z", ["owner", "add", "bob", "--name", "Bob", "--email", "b@example.com"])
        try at("2026-01-01T00:00:00Z", ["system", "add", "github", "--kind", "gateway", "--gateway-role", "access-broker",
                                        "--policy-owner", "alice", "--platform-owner", "bob", "--audit-owner", "bob"])
        try at("2026-01-01T00:00:00Z", ["agent", "add", "a1", "--system", "github", "--owner", "alice"])
        try at("2026-01-01T00:00:00Z", ["token", "register", "t1", "--owner", "alice", "--purpose", "ci", "--system", "github",
                                        "--agent", "a1", "--expires", "never"])
        try at("2026-01-02T00:00:00Z", ["exception", "add", "t1", "--state", "no-expiry", "--until", "2026-02-01",
                                        "--reason", "vendor", "--approved-by", "bob"])
        try at("2026-01-03T00:00:00Z", ["system", "freeze", "github", "--reason", "incident"])
        try at("2026-01-04T00:00:00Z", ["system", "unfreeze", "github", "--note", "contained"])
        try at("2026-01-05T00:00:00Z", ["system", "update", "github", "--platform-owner", "alice", "--managed-by", "vendor"])
        try at("2026-01-06T00:00:00Z", ["exception", "revoke", "EX-1", "--note", "expiry set"])
        let versions = "SELECT * FROM systems_history ORDER BY ended_by_seq; SELECT * FROM exceptions_history ORDER BY ended_by_seq"
        let written = try box.sqlite(versions)
        #expect(written.split(separator: "\n").count == 4, "three system versions and one exception version: \(written)")
        box.environment["NHI_NOW"] = "2026-03-01T00:00:00Z"
        let reads = [["system", "show", "github", "--format", "json"], ["exception", "list", "--all", "--format", "json"],
                     ["report", "systems", "--format", "csv"], ["check", "--format", "json"]]
        func outputs() throws -> [String] {
            try ["2026-01-02T12:00:00Z", "2026-01-03T12:00:00Z", "2026-01-05T12:00:00Z"].flatMap { t in
                try reads.map { try box.run($0 + ["--as-of", t]).out }
            }
        }
        let before = try outputs()
        try box.tamper("DROP TABLE systems_history; DROP TABLE exceptions_history; DROP INDEX audit_by_kind_time; PRAGMA user_version = 6")
        #expect(try box.sqlite("PRAGMA user_version") == "6")
        let verify = try box.run(["audit", "verify"])
        #expect(verify.code == 0, "\(verify.out)\(verify.err)")
        #expect(try box.sqlite("PRAGMA user_version") == "\(Schema.currentVersion)")
        #expect(try box.sqlite(versions) == written)
        #expect(try outputs() == before)
    }
}

/// Migration 4 on a store made by nhi at main ac4575b (schema 3, no history tables): the history is rebuilt from
/// the audit trail, so the past is queryable at once. The fixture and that nhi's own output at each capture instant
/// are written by scripts/make-history-fixture.sh.
@Suite("History: rebuilt from the audit trail of an older store")
struct HistoryMigrationTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("NHITests/Fixtures/history-ac4575b")

    /// The fixture's commands run live by this nhi into `dir` (its own output at each instant, no --as-of): a later
    /// nhi may print more than ac4575b did (new states, new fields), and the migrated store must reprint what this
    /// nhi printed then.
    func liveCaptures(into dir: String) throws {
        let script = Self.fixture.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-history-fixture.sh").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [script, NHIBinary.path, dir]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the fixture script ran with the current nhi")
    }

    @Test("as of each capture instant the migrated store prints what this nhi printed live then")
    func replayAfterMigration() throws {
        let box = Sandbox()
        try FileManager.default.copyItem(atPath: Self.fixture.appendingPathComponent("store.db").path, toPath: box.db)
        box.environment["NHI_NOW"] = "2026-05-01T00:00:00Z"
        #expect(try box.sqlite("PRAGMA user_version") == "3")
        let verify = try box.run(["audit", "verify"])
        #expect(verify.code == 0, "\(verify.out)")
        #expect(try box.sqlite("PRAGMA user_version") == "\(Schema.currentVersion)")
        // One superseded version per audit entry that changed an existing owner, agent or token.
        #expect(try box.sqlite("""
            SELECT (SELECT count(*) FROM owners_history) + (SELECT count(*) FROM agents_history) + (SELECT count(*) FROM tokens_history)
                 = (SELECT count(*) FROM audit_log WHERE entity_kind IN ('owner', 'agent', 'token') AND before IS NOT NULL)
            """) == "1")
        #expect(Int(try box.sqlite("SELECT count(*) FROM tokens_history")) ?? 0 >= 5)
        let live = box.path("live")
        try liveCaptures(into: live)
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixture.path).filter { $0.hasSuffix(".out") }.sorted()
        #expect(files.count == 14)
        for file in files {
            let parts = file.dropLast(4).split(separator: ".", maxSplits: 1)
            let instant = parts[0] == "first" ? "2026-02-01T00:00:00Z" : "2026-03-15T00:00:00Z"
            let args = parts[1].split(separator: "_").map(String.init)
            let expected = try String(contentsOfFile: live + "/" + file, encoding: .utf8)
            let replayed = try box.run(args + ["--as-of", instant])
            #expect(replayed.out == expected, "nhi \(args.joined(separator: " ")) --as-of \(instant) after migration")
        }
    }
}
