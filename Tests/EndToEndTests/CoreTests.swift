import Foundation
import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

/// The registry, the store rules and the CLI shell, through the built binary.
@Suite(.bothEngines) struct CoreTests {
    // MARK: helpers

    func sqlite(_ db: String, _ sql: String) throws -> String { try Sandbox.sql(db: db, sql) }

    func storeFiles(_ sandbox: Sandbox) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: sandbox.dir.path).filter { $0.hasPrefix("nhi.db") }.sorted()
    }

    /// Runs a command that must fail with `code` and a message containing `message`, changing nothing.
    func expectFailure(_ sandbox: Sandbox, _ args: [String], stdin: String? = nil, env: [String: String] = [:], code: Int32,
                       message: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try sandbox.contentHash()
        let result = try sandbox.run(args, stdin: stdin, env: env)
        let line = args.joined(separator: " ")
        #expect(result.code == code, "nhi \(line): exit \(result.code), stderr: \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.hasPrefix("nhi: error: "), "nhi \(line): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.err.contains(message), "nhi \(line): \(result.err)", sourceLocation: sourceLocation)
        #expect(result.out.isEmpty, "nhi \(line) wrote to stdout: \(result.out)", sourceLocation: sourceLocation)
        #expect(try sandbox.contentHash() == before, "nhi \(line) changed the store", sourceLocation: sourceLocation)
    }

    // MARK: happy paths

    @Test func ownersAndAgents() throws {
        let s = Sandbox()
        #expect(try s.ok(["owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com", "--team", "platform"]).out == "added owner alice\n")
        try s.ok(["owner", "add", "bob", "--name", "Bob Ruiz", "--email", "bob@example.com"])
        #expect(try s.ok(["agent", "add", "bot", "--system", "github", "--owner", "alice"]).out == "added agent bot\n")
        #expect(try s.ok(["owner", "list"]).out == """
            ID     NAME      EMAIL              TEAM      STATUS  DEPARTED
            alice  Alice Ng  alice@example.com  platform  active  -
            bob    Bob Ruiz  bob@example.com    -         active  -

            """)
        #expect(try s.ok(["owner", "list", "--format", "csv"]).out == """
            id,name,email,team,status,departed_at
            alice,Alice Ng,alice@example.com,platform,active,
            bob,Bob Ruiz,bob@example.com,,active,

            """)
        let show = try jsonObject(try s.ok(["owner", "show", "alice", "--format", "json"]).out)
        #expect(show["id"] as? String == "alice")
        #expect(show["team"] as? String == "platform")
        #expect(show["agents"] as? [String] == ["bot"])
        #expect(show["active_tokens"] as? Int == 0)
        #expect(show["created_at"] as? String == "2026-06-01T00:00:00Z")
        #expect(try s.ok(["agent", "list"]).out == """
            ID   SYSTEM  OWNER  MODE        STATUS  DECOMMISSIONED
            bot  github  alice  autonomous  active  -

            """)
        let agents = try jsonArray(try s.ok(["agent", "list", "--owner", "alice", "--format", "json"]).out)
        #expect(agents.map { $0["id"] as? String } == ["bot"])
        #expect(try s.ok(["agent", "list", "--owner", "bob"]).out == "no agents\n")
        #expect(try s.ok(["owner", "list", "--status", "departed", "--format", "json"]).out == "[]\n")
        let agent = try jsonObject(try s.ok(["agent", "show", "bot", "--format", "json"]).out)
        #expect(agent["owner"] as? String == "alice")
        #expect(agent["tokens"] as? [String] == [])
    }

    @Test func tokenLifecycle() throws {
        let s = Sandbox()
        try s.seedBasics()
        let registered = try s.register("gh-bot", ["--environment", "prod", "--scopes", "repo:read,issues:write", "--label", "ticket=SEC-1",
                                                   "--label", "cost-center=42", "--rotate-every", "30d", "--review-every", "2w"])
        #expect(registered.code == 0, "\(registered.err)")
        #expect(registered.out == "registered token gh-bot\n")
        #expect(try s.ok(["token", "list"]).out == """
            ID      OWNER  SYSTEM  AGENT  ENV   STATUS  EXPIRES     ROTATE  PURPOSE
            gh-bot  alice  github  bot    prod  active  2026-12-31  30d     test

            """)
        let t = try jsonObject(try s.ok(["token", "show", "gh-bot", "--format", "json"]).out)
        // Every field of the SPEC's token entity.
        for key in ["id", "owner", "purpose", "system", "agent", "environment", "scopes", "issued_at", "expires_at", "rotate_every",
                    "last_rotated_at", "review_every", "last_reviewed_at", "fingerprint", "labels", "status", "revoked_at",
                    "revoke_reason", "last_used_at"] {
            #expect(t.keys.contains(key), "token show lacks \(key)")
        }
        #expect(t["scopes"] as? [String] == ["repo:read", "issues:write"])
        #expect(t["labels"] as? [String: String] == ["cost-center": "42", "ticket": "SEC-1"])
        #expect(t["issued_at"] as? String == "2026-06-01T00:00:00Z")
        #expect(t["expires_at"] as? String == "2026-12-31T00:00:00Z")
        #expect(t["rotate_every"] as? String == "30d")
        #expect(t["review_every"] as? String == "14d")
        #expect(t["fingerprint"] is NSNull)
        #expect(t["status"] as? String == "active")

        // update: relative expiry, label removal, defaults kept
        #expect(try s.ok(["token", "update", "gh-bot", "--expires", "+30d", "--label", "ticket=", "--purpose", "triage"]).out == "updated token gh-bot\n")
        let u = try jsonObject(try s.ok(["token", "show", "gh-bot", "--format", "json"]).out)
        #expect(u["expires_at"] as? String == "2026-07-01T00:00:00Z")
        #expect(u["labels"] as? [String: String] == ["cost-center": "42"])
        #expect(u["purpose"] as? String == "triage")

        // rotate with a new value: fingerprint recorded, last_rotated_at set, value never stored
        #expect(try s.ok(["token", "rotate", "gh-bot", "--secret-stdin", "--expires", "2026-09-01"], stdin: "n3w-value\n").out == "rotated token gh-bot\n")
        let r = try jsonObject(try s.ok(["token", "show", "gh-bot", "--format", "json"]).out)
        #expect(r["fingerprint"] as? String == "sha256:2f458d0976c6b16265aec4c746f7bf84a8f4fa705ceebaf6fedd69a7b19b4ee3")
        #expect(r["last_rotated_at"] as? String == "2026-06-01T00:00:00Z")
        #expect(r["expires_at"] as? String == "2026-09-01T00:00:00Z")
        #expect(!(try s.contentHash()).contains("n3w-value"))

        #expect(try s.ok(["token", "transfer", "gh-bot", "--to", "bob"]).out == "transferred token gh-bot to bob\n")
        #expect(try s.ok(["token", "revoke", "gh-bot", "--reason", "agent retired"]).out == "revoked token gh-bot\n")
        let v = try jsonObject(try s.ok(["token", "show", "gh-bot", "--format", "json"]).out)
        #expect(v["owner"] as? String == "bob")
        #expect(v["status"] as? String == "revoked")
        #expect(v["revoked_at"] as? String == "2026-06-01T00:00:00Z")
        #expect(v["revoke_reason"] as? String == "agent retired")
        #expect(try s.ok(["token", "list", "--status", "active"]).out == "no tokens\n")

        // One audit entry per write, each with the command and the actor.
        #expect(try sqlite(s.db, "SELECT action || '|' || actor FROM audit_log ORDER BY seq") == """
            owner.add|tester
            owner.add|tester
            agent.add|tester
            token.register|tester
            token.update|tester
            token.rotate|tester
            token.transfer|tester
            token.revoke|tester
            """)
        let owners = s.engine == .postgres
            ? "SELECT (CAST(before AS jsonb) ->> 'owner') || '>' || (CAST(after AS jsonb) ->> 'owner') FROM audit_log WHERE action = 'token.transfer'"
            : "SELECT json_extract(before, '$.owner') || '>' || json_extract(after, '$.owner') FROM audit_log WHERE action = 'token.transfer'"
        #expect(try sqlite(s.db, owners) == "alice>bob")
    }

    @Test func secretStdinKeepsOnlyTheFingerprintAndRefusesReuse() throws {
        let s = Sandbox()
        try s.seedBasics()
        let r = try s.register("t1", ["--secret-stdin"], stdin: "s3cret-value\n")
        #expect(r.code == 0, "\(r.err)")
        let t = try jsonObject(try s.ok(["token", "show", "t1", "--format", "json"]).out)
        #expect(t["fingerprint"] as? String == "sha256:bf496b76b91b82820ee599d4f83ba3d87b0c9365666694241916c40843d2a524")
        #expect(!(try s.contentHash()).contains("s3cret"))
        try s.ok(["agent", "add", "bot2", "--system", "github", "--owner", "bob"])
        try expectFailure(s, ["token", "register", "t2", "--owner", "bob", "--purpose", "p", "--system", "github", "--agent", "bot2",
                              "--expires", "never", "--secret-stdin"], stdin: "s3cret-value", code: 3, message: "already registered as token 't1'")
        try expectFailure(s, ["token", "rotate", "t1", "--secret-stdin"], stdin: "s3cret-value", code: 3, message: "same as the current one")
        try expectFailure(s, ["token", "register", "t3", "--owner", "bob", "--purpose", "p", "--system", "github", "--agent", "bot2",
                              "--expires", "never", "--secret-stdin"], stdin: "", code: 3, message: "standard input was empty")
        try expectFailure(s, ["token", "register", "t3", "--owner", "bob", "--purpose", "p", "--system", "github", "--agent", "bot2",
                              "--expires", "never", "--secret-stdin"], stdin: String(repeating: "x", count: (1 << 20) + 10),
                          code: 3, message: "larger than 1 MiB")
    }

    @Test func actorComesFromTheFlagThenTheEnvironment() throws {
        let s = Sandbox()
        try s.ok(["owner", "add", "alice", "--name", "A", "--email", "a@example.com", "--actor", "ci-runner"])
        let viaEnv = try s.run(["owner", "add", "bob", "--name", "B", "--email", "b@example.com"], env: ["NHI_ACTOR": "jenkins"])
        #expect(viaEnv.code == 0)
        #expect(try sqlite(s.db, "SELECT actor FROM audit_log ORDER BY seq") == "ci-runner\njenkins")
    }

    // MARK: the store file

    @Test(.sqliteOnly("file modes and WAL files")) func theStoreIsCreatedByWritesOnlyWithMode0600() throws {
        let s = Sandbox()
        try expectFailure(s, ["owner", "list"], code: 3, message: "no store at '\(s.db)'")
        try expectFailure(s, ["token", "show", "x"], code: 3, message: "no store at")
        #expect(try storeFiles(s).isEmpty)
        // A write that fails after opening (unknown owner) leaves no file behind either.
        try expectFailure(s, ["agent", "add", "bot", "--system", "github", "--owner", "nobody"], code: 3, message: "unknown owner 'nobody'")
        try expectFailure(s, ["owner", "add", "alice", "--name", "A", "--email", "not-an-email"], code: 3, message: "is not an email address")
        #expect(try storeFiles(s).isEmpty)
        try s.ok(["owner", "add", "alice", "--name", "A", "--email", "a@example.com"])
        let mode = try FileManager.default.attributesOfItem(atPath: s.db)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try sqlite(s.db, "PRAGMA journal_mode") == "wal")
        #expect(try sqlite(s.db, "PRAGMA user_version") == "\(Schema.currentVersion)")
    }

    @Test(.sqliteOnly("store files in folders")) func theStoreFollowsDbThenNHIDBThenTheWorkingDirectory() throws {
        let s = Sandbox()
        let viaEnv = s.path("env.db")
        let r = try s.run(["owner", "add", "alice", "--name", "A", "--email", "a@example.com"], env: ["NHI_DB": viaEnv], useDB: false)
        #expect(r.code == 0)
        #expect(FileManager.default.fileExists(atPath: viaEnv))
        // --db wins over NHI_DB
        let flag = s.path("flag.db")
        #expect(try s.run(["owner", "add", "bob", "--name", "B", "--email", "b@example.com", "--db", flag], env: ["NHI_DB": viaEnv]).code == 0)
        #expect(try sqlite(flag, "SELECT id FROM owners") == "bob")
        #expect(try sqlite(viaEnv, "SELECT id FROM owners") == "alice")
        // Neither: ./nhi.db in the working directory.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NHIBinary.path)
        process.arguments = ["owner", "add", "carol", "--name", "C", "--email", "c@example.com"]
        process.currentDirectoryURL = s.dir
        var env = ProcessInfo.processInfo.environment
        env["NHI_DB"] = nil
        env["NHI_ACTOR"] = "tester"
        process.environment = env
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(try sqlite(s.db, "SELECT id FROM owners") == "carol")
    }

    @Test func filesThatAreNotUsableStoresAreRefused() throws {
        let s = Sandbox()
        let empty = s.path("typo.db")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        let read = try s.run(["token", "list", "--db", empty])
        #expect(read.code == 3)
        #expect(read.err.contains("is empty, not an nhi store"))
        #expect(try FileManager.default.attributesOfItem(atPath: empty)[.size] as? Int == 0)

        let newer = s.path("newer.db")
        _ = try sqlite(newer, "CREATE TABLE t (x); PRAGMA user_version = 99;")
        for args in [["token", "list"], ["owner", "add", "a", "--name", "A", "--email", "a@example.com"]] {
            let r = try s.run(args + ["--db", newer])
            #expect(r.code == 4)
            #expect(r.err.contains("written by a newer nhi (schema version 99"))
        }
        #expect(try sqlite(newer, "PRAGMA user_version") == "99")

        let notes = s.path("notes.db")
        try String(repeating: "not a database\n", count: 100).write(toFile: notes, atomically: false, encoding: .utf8)
        for args in [["owner", "list"], ["owner", "add", "a", "--name", "A", "--email", "a@example.com"]] {
            let r = try s.run(args + ["--db", notes])
            #expect(r.code == 4)
            #expect(r.err.contains("is not an nhi store or is corrupt"))
        }
        #expect(try String(contentsOfFile: notes, encoding: .utf8) == String(repeating: "not a database\n", count: 100))

        let foreign = s.path("contacts.db")
        _ = try sqlite(foreign, "CREATE TABLE contacts (name TEXT)")
        let r = try s.run(["owner", "add", "a", "--name", "A", "--email", "a@example.com", "--db", foreign])
        #expect(r.code == 4)
        #expect(r.err.contains("is a SQLite file but not an nhi store"))
    }

    // MARK: errors

    @Test func everyRegistryErrorExitsWithItsCodeAndChangesNothing() throws {
        let s = Sandbox()
        try s.seedBasics()
        #expect(try s.register("t1").code == 0)
        let reg = ["token", "register", "t2", "--owner", "alice", "--purpose", "p", "--system", "github", "--agent", "bot"]
        let cases: [([String], Int32, String)] = [
            (["token", "register", "t1", "--owner", "alice", "--purpose", "p", "--system", "github", "--agent", "bot", "--expires", "never"], 3, "token 't1' already exists"),
            (reg + ["--expires", "never", "--owner", "carol"], 2, "--owner is given more than once"),
            (["token", "register", "t2", "--owner", "carol", "--purpose", "p", "--system", "github", "--agent", "bot", "--expires", "never"], 3,
             "unknown owner 'carol' (add it with: nhi owner add carol --name NAME --email EMAIL)"),
            (["token", "register", "t2", "--owner", "alice", "--purpose", "p", "--system", "github", "--agent", "ghost", "--expires", "never"], 3,
             "unknown agent 'ghost' (add it with: nhi agent add ghost --system SYSTEM --owner OWNER)"),
            (reg + ["--expires", "2026-13-01"], 3, "--expires: '2026-13-01' is not a date"),
            (reg + ["--expires", "2026-02-29"], 3, "is not a date"),
            (reg + ["--expires", "2026-05-01"], 3, "must be after the issue time (2026-06-01T00:00:00Z)"),
            (reg + ["--expires", "never", "--issued-at", "2026-07-01", "--rotate-every", "30x"], 3, "--rotate-every: '30x' is not a duration"),
            (reg + ["--expires", "2026-06-01T12:00:00Z", "--issued-at", "2026-06-01T18:00:00Z"], 3, "must be after the issue time"),
            (reg + ["--expires", "never", "--issued-at", "9999-12-30"], 3, "--issued-at: issued_at 9999-12-30T00:00:00Z is in the future"),
            (reg + ["--expires", "never", "--purpose", "two\nlines"], 2, "--purpose is given more than once"),
            (["token", "register", "t2", "--owner", "alice", "--purpose", "two\nlines", "--system", "github", "--agent", "bot", "--expires", "never"], 3,
             "--purpose contains a control character"),
            (["token", "register", "bad id!", "--owner", "alice", "--purpose", "p", "--system", "github", "--agent", "bot", "--expires", "never"], 3,
             "token id 'bad id!' may only contain letters, digits and . _ : / @ -"),
            (reg + ["--expires", "never", "--scopes", "a,,b"], 3, "--scopes has an empty entry"),
            (reg + ["--expires", "never", "--label", "novalue"], 3, "--label 'novalue' must be key=value"),
            (reg, 2, "missing --expires DATE"),
            (reg + ["--expire", "never"], 2, "unknown option '--expire'. Did you mean '--expires'?"),
            (["token", "regster", "t2"], 2, "unknown command 'regster' for 'nhi token'. Did you mean 'register'?"),
            (["token", "show", "nope"], 3, "unknown token 'nope' (see: nhi token list)"),
            (["token", "update", "t1"], 3, "nothing to change"),
            (["token", "update", "nope", "--purpose", "x"], 3, "unknown token 'nope'"),
            (["token", "update", "t1", "--expires", "2026-01-01"], 3, "must be after the issue time"),
            (["token", "transfer", "t1", "--to", "alice"], 3, "already owned by 'alice'"),
            (["token", "transfer", "t1", "--to", "carol"], 3, "unknown owner 'carol'"),
            (["token", "transfer", "t1"], 2, "missing --to OWNER"),
            (["token", "revoke", "t1"], 2, "missing --reason TEXT"),
            (["token", "rotate", "nope"], 3, "unknown token 'nope'"),
            (["token", "list", "--status", "gone"], 2, "--status must be one of active, revoked, not 'gone'"),
            (["token", "list", "--format", "xml"], 2, "--format must be one of table, json, csv, ndjson"),
            (["owner", "add", "alice", "--name", "A", "--email", "a@example.com"], 3, "owner 'alice' already exists"),
            (["owner", "add", "-carol", "--name", "C", "--email", "c@example.com"], 3, "owner id '-carol' must start with a letter or digit"),
            (["owner", "add", "carol", "--name", "C", "--email", "carol"], 3, "--email 'carol' is not an email address"),
            (["owner", "add", "carol", "--name", String(repeating: "n", count: 201), "--email", "c@example.com"], 3, "--name is longer than 200 characters"),
            (["owner", "show", "carol"], 3, "unknown owner 'carol'"),
            (["agent", "add", "bot2", "--system", "github", "--owner", "carol"], 3, "unknown owner 'carol' (add it with: nhi owner add carol"),
            (["agent", "add", "bot", "--system", "github", "--owner", "alice"], 3, "agent 'bot' already exists"),
            (["agent", "show", "ghost"], 3, "unknown agent 'ghost'"),
            (["owner", "add", "carol", "--name", "C", "--email", "c@example.com", "--actor", "line\nbreak"], 3, "--actor contains a control character"),
            (["bogus"], 2, "unknown command 'bogus'"),
            (["owner"], 2, "'nhi owner' needs a subcommand: add, list, show"),
        ]
        for (args, code, message) in cases {
            try expectFailure(s, args, code: code, message: message)
        }
    }

    @Test func usageErrorsPointAtTheFix() throws {
        let s = Sandbox()
        let r = try s.run(["owner", "add", "alice", "--name", "A"])
        #expect(r.code == 2)
        #expect(r.err == """
            nhi: error: missing --email EMAIL (Email address.)
            Usage: nhi owner add ID --name NAME --email EMAIL [options]
            See 'nhi owner add --help'.

            """)
    }

    @Test func secretLookingValuesAreRefusedEverywhereWithoutEchoingThem() throws {
        let s = Sandbox()
        try s.seedBasics()
        let fakes = ["ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x", "xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrSt",
                     "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Jh1Gf0-Ed_Cb9AA", "AKIAQWERTYUIOPASDF23", "glpat-Ab12Cd34Ef56Gh78Ij90",
                     "q8Zr2LmX9vTb4NcW7pKs1HdY6fGj3Ae5"]
        func reg(_ id: String = "t9", set overrides: [String: String] = [:], extra: [String] = []) -> [String] {
            var fields = ["owner": "alice", "purpose": "p", "system": "github", "agent": "bot", "expires": "never"]
            fields.merge(overrides) { $1 }
            return ["token", "register", id] + fields.sorted { $0.key < $1.key }.flatMap { ["--\($0.key)", $0.value] } + extra
        }
        for fake in fakes {
            let attempts: [[String]] = [
                reg(fake),
                reg(set: ["purpose": "rotate \(fake) soon"]),
                reg(set: ["system": fake]),
                reg(set: ["owner": fake]),
                reg(set: ["agent": fake]),
                reg(extra: ["--environment", fake]),
                reg(extra: ["--scopes", "repo:read,\(fake)"]),
                reg(extra: ["--label", "note=\(fake)"]),
                reg(extra: ["--label", "\(fake)=x"]),
                reg(set: ["expires": fake]),
                reg(extra: ["--rotate-every", fake]),
                ["owner", "add", fake, "--name", "N", "--email", "n@example.com"],
                ["owner", "add", "carol", "--name", "Carol \(fake)", "--email", "c@example.com"],
                ["owner", "add", "carol", "--name", "C", "--email", "c@example.com", "--team", fake],
                ["owner", "add", "carol", "--name", "C", "--email", "c@example.com", "--actor", fake],
                ["agent", "add", "bot2", "--system", "s \(fake)", "--owner", "alice"],
                ["token", "update", "t0", "--purpose", fake],
                ["token", "revoke", "t0", "--reason", "leaked as \(fake)"],
                ["token", "transfer", "t0", "--to", fake],
                ["token", "show", fake],
            ]
            for args in attempts {
                let before = try s.contentHash()
                let r = try s.run(args)
                #expect(r.code == 3, "\(args): exit \(r.code) \(r.err)")
                #expect(r.err.hasPrefix("nhi: error: "))
                #expect(!r.err.contains(fake) && !r.out.contains(fake), "echoed the secret: \(r.err)")
                #expect(!r.err.contains(String(fake.dropFirst(4).prefix(12))), "echoed part of the secret: \(r.err)")
                #expect(try s.contentHash() == before)
            }
        }
        // The message for a secret in a field names the field and the fix.
        let r = try s.run(reg(set: ["purpose": fakes[0]]))
        #expect(r.err.contains("--purpose looks like a live secret (it contains what looks like a credential: GitHub token)"))
        #expect(r.err.contains("--secret-stdin"))
    }

    @Test func ordinaryValuesAreAccepted() throws {
        let s = Sandbox()
        try s.seedBasics()
        for id in ["svc-github-prod-2027", "550e8400-e29b-41d4-a716-446655440000", "deploy@example.com", "2027-01-31",
                   "team/platform:ci", "sk-learn-batch-runner", "AKIA-rotation-tracker"] {
            let r = try s.run(["token", "register", id, "--owner", "alice", "--system", "github", "--agent", "bot", "--expires", "never",
                               "--purpose", "owned by ops@example.com until 2027-01-31T12:00:00Z (ticket 550e8400-e29b-41d4-a716-446655440000)",
                               "--label", "contact=ops@example.com", "--scopes", "repo:read,read:org"])
            #expect(r.code == 0, "\(id): \(r.err)")
        }
        #expect(try sqlite(s.db, "SELECT count(*) FROM tokens") == "7")
    }

    // MARK: the shell

    @Test func everyCommandHasHelpOnStdout() throws {
        let s = Sandbox()
        for spec in CLI.commands {
            let r = try s.run(spec.path + ["--help"])
            #expect(r.code == 0, "nhi \(spec.name) --help")
            #expect(r.err.isEmpty)
            #expect(r.out.hasPrefix("OVERVIEW: \(spec.abstract)"))
            #expect(r.out.contains("USAGE: nhi \(spec.name)"))
            #expect(r.out.contains("EXAMPLES:"), "nhi \(spec.name) --help has no example")
            let viaHelp = try s.run(["help"] + spec.path)
            #expect(viaHelp.code == 0)
            #expect(viaHelp.out == r.out)
        }
        #expect(try storeFiles(s).isEmpty)
        let top = try s.run(["--help"])
        #expect(top.code == 0)
        #expect(top.out.contains("token register"))
        #expect(top.out.contains("Exit codes: 0 ok, 1 findings, 2 usage error, 3 data error, 4 store or output error."))
        #expect(try s.run([]).out == top.out)
        let group = try s.run(["token", "--help"])
        #expect(group.code == 0)
        #expect(group.out.contains("SUBCOMMANDS:"))
        let unknown = try s.run(["help", "bogus"])
        #expect(unknown.code == 2)
        #expect(unknown.err.hasPrefix("nhi: error: no help for unknown command 'bogus'"))
    }

    @Test func versionAndGlobalFlagsAnywhere() throws {
        let s = Sandbox()
        let v = try s.run(["--version"])
        #expect(v.code == 0)
        #expect(v.out == "nhi 0.1.0\n")
        try s.seedBasics()
        let before = try s.run(["--format", "json", "--db", s.db, "owner", "list"], useDB: false)
        let middle = try s.run(["owner", "--db", s.db, "list", "--format=json"], useDB: false)
        let after = try s.run(["owner", "list", "--format", "json", "--db", s.db], useDB: false)
        #expect(before.code == 0 && middle.code == 0 && after.code == 0)
        #expect(before.out == after.out)
        #expect(middle.out == after.out)
        #expect(try jsonArray(after.out).count == 2)
    }

    @Test func machineFormatsParse() throws {
        let s = Sandbox()
        try s.seedBasics()
        #expect(try s.register("t1", ["--scopes", "a,b", "--label", "k=v"]).code == 0)
        #expect(try s.register("t2", ["--environment", "=cmd|' /C calc'!A0, \"quoted\""]).code == 0)
        let json = try jsonArray(try s.ok(["token", "list", "--format", "json"]).out)
        #expect(json.map { $0["id"] as? String } == ["t1", "t2"])
        #expect(json[1]["environment"] as? String == "=cmd|' /C calc'!A0, \"quoted\"")
        let ndjson = try s.ok(["token", "list", "--format", "ndjson"]).out.split(separator: "\n")
        #expect(ndjson.count == 2)
        for line in ndjson { #expect(try jsonObject(String(line))["kind"] as? String == "token") }
        let csv = try s.ok(["token", "list", "--format", "csv"]).out
        let lines = csv.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "id,owner,system,agent,environment,status,expires_at,rotate_every,purpose")
        #expect(lines[1] == "t1,alice,github,bot,,active,2026-12-31T00:00:00Z,90d,test")
        // A formula-looking cell is neutralised; quotes doubled.
        #expect(lines[2] == "t2,alice,github,bot,\"'=cmd|' /C calc'!A0, \"\"quoted\"\"\",active,2026-12-31T00:00:00Z,90d,test")
        let showCSV = try s.ok(["token", "show", "t1", "--format", "csv"]).out.split(separator: "\n")
        #expect(showCSV.count == 2)
        #expect(showCSV[0].hasPrefix("kind,id,owner,purpose,system,agent,environment,scopes,issued_at,expires_at"))
        let ndShow = try jsonObject(try s.ok(["token", "show", "t1", "--format", "ndjson"]).out)
        #expect(ndShow["scopes"] as? [String] == ["a", "b"])
        // Tables never carry colour escapes when stdout is not a terminal.
        #expect(!(try s.ok(["token", "list"]).out.contains("\u{1B}")))
        #expect(!(try s.run(["token", "list"], env: ["NO_COLOR": "1"]).out.contains("\u{1B}")))
    }

    /// Runs nhi on a pseudo-terminal through util-linux `script`, so stdout is a terminal.
    func onTerminal(_ sandbox: Sandbox, _ args: [String], env extra: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", ([NHIBinary.path, "--db", "'\(sandbox.db)'"] + args).joined(separator: " "), "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env["NO_COLOR"] = nil
        env.merge(sandbox.environment) { $1 }
        env.merge(extra) { $1 }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = readAll(pipe.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func colourOnlyOnATerminalAndNeverWithNO_COLOR() throws {
        let s = Sandbox()
        try s.seedBasics()
        #expect(try onTerminal(s, ["owner", "list"], env: [:]).hasPrefix("\u{1B}[1mID"))
        let plain = try onTerminal(s, ["owner", "list"], env: ["NO_COLOR": "1"])
        #expect(plain.hasPrefix("ID"))
        #expect(!plain.contains("\u{1B}"))
    }

    // MARK: concurrency

    /// Runs `script` with sh in `count` processes at once; returns each one's stderr.
    func concurrently(_ count: Int, _ script: (Int) -> String, env: [String: String]) throws -> [String] {
        var processes: [(Process, Pipe)] = []
        for worker in 0..<count {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script(worker)]
            var environment = ProcessInfo.processInfo.environment
            environment.merge(env) { $1 }
            process.environment = environment
            let err = Pipe()
            process.standardError = err
            process.standardOutput = FileHandle.nullDevice
            processes.append((process, err))
        }
        for (process, _) in processes { try process.run() }
        var errors: [String] = []
        for (process, err) in processes {
            let data = readAll(err.fileHandleForReading)
            process.waitUntilExit()
            errors.append(String(decoding: data, as: UTF8.self))
            #expect(process.terminationStatus == 0, "worker failed: \(String(decoding: data, as: UTF8.self))")
        }
        return errors
    }

    @Test func concurrentRegistrationsLoseNothing() throws {
        let s = Sandbox()
        try s.seedBasics()
        let env = ["NHI_DB": s.db, "NHI_NOW": "2026-06-01T00:00:00Z", "NHI_ACTOR": "worker"]
        let bin = NHIBinary.path
        let errors = try concurrently(8, { w in
            """
            i=1; while [ $i -le 50 ]; do
              "\(bin)" token register "w\(w)-t$i" --owner alice --purpose load --system github --agent bot --expires never || exit 1
              i=$((i+1))
            done
            """
        }, env: env)
        #expect(errors.allSatisfy { $0.isEmpty }, "\(errors.filter { !$0.isEmpty })")
        #expect(!errors.joined().contains("locked"))
        let ids = try s.ok(["token", "list", "--format", "ndjson"]).out.split(separator: "\n")
        #expect(ids.count == 400)
        #expect(try sqlite(s.db, "SELECT count(*) FROM audit_log WHERE action = 'token.register' AND actor = 'worker'") == "400")
        #expect(try sqlite(s.db, "SELECT count(*) FROM audit_log") == "403")
        // The chain has no gaps or forks: every entry links to the one before it.
        #expect(try sqlite(s.db, "SELECT count(*) FROM audit_log a JOIN audit_log b ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash") == "402")
    }

    @Test func concurrentFirstWritesShareOneNewStore() throws {
        let s = Sandbox()
        let env = ["NHI_DB": s.db, "NHI_NOW": "2026-06-01T00:00:00Z", "NHI_ACTOR": "worker"]
        let bin = NHIBinary.path
        let errors = try concurrently(8, { w in "\"\(bin)\" owner add o\(w) --name O --email o\(w)@example.com" }, env: env)
        #expect(errors.allSatisfy { $0.isEmpty }, "\(errors.filter { !$0.isEmpty })")
        #expect(try sqlite(s.db, "SELECT count(*) FROM owners") == "8")
        #expect(try sqlite(s.db, "SELECT count(*) FROM audit_log") == "8")
        #expect(try sqlite(s.db, s.engine == .postgres ? "SELECT max(version) FROM nhi_schema_version" : "PRAGMA user_version") == "\(Schema.currentVersion)")
    }
}
