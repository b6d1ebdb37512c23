import Foundation
import Testing

/// `nhi import` / `nhi export` through the binary.
@Suite("Exchange end to end", .bothEngines)
struct ExchangeEndToEndTests {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static func example(_ name: String) -> String { repoRoot.appendingPathComponent("Docs/examples/\(name)").path }

    static let header = "kind,id,name,email,team,status,system,owner,purpose,agent,environment,scopes,issued_at,expires_at,rotate_every,fingerprint,labels"

    func write(_ sandbox: Sandbox, _ name: String, _ text: String) -> String {
        let path = sandbox.path(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    // MARK: Round trip

    @Test func exportThenImportIntoANewStoreGivesTheSameInventoryInEveryFormat() throws {
        let source = Sandbox()
        try source.ok(["import", Self.example("inventory.csv")])
        try source.ok(["token", "register", "formulas", "--owner", "alice", "--purpose", "+1 and -2 @home", "--system", "github",
                       "--agent", "support-bot", "--expires", "never", "--label", "note=@mention", "--label", "calc='=1+1"])
        let reference = try source.ok(["export", "--format", "ndjson"]).out
        #expect(reference.split(separator: "\n").count == 9)
        for format in ["csv", "json", "ndjson"] {
            let file = source.path("inventory.\(format)")
            try source.ok(["export", "--format", format]).out.write(toFile: file, atomically: true, encoding: .utf8)
            let target = Sandbox()
            try target.ok(["import", file])
            #expect(try target.ok(["export", "--format", "ndjson"]).out == reference, "round trip through \(format)")
        }
    }

    @Test func exportByKindWritesOnlyThatKindAndImportReadsItBack() throws {
        let source = Sandbox()
        try source.ok(["import", Self.example("inventory.ndjson")])
        let owners = try source.ok(["export", "--kind", "owners"]).out
        #expect(owners == """
            kind,id,name,email,team,status,departed_at,created_at,updated_at
            owner,alice,Alice Ng,alice@example.com,platform,active,,2026-06-01T00:00:00Z,2026-06-01T00:00:00Z
            owner,dave,Dave O'Neil,dave@example.com,support,departed,2026-04-30T00:00:00Z,2026-06-01T00:00:00Z,2026-06-01T00:00:00Z

            """)
        let target = Sandbox()
        let file = write(target, "owners.csv", owners)
        try target.ok(["import", file])
        #expect(try target.ok(["export", "--kind", "owners"]).out == owners)
    }

    // MARK: Formula neutralisation

    @Test func csvCellsThatStartAFormulaAreNeutralisedAndRestoredExactly() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        for (id, purpose) in [("f1", "=HYPERLINK(\"http://x\")"), ("f2", "+1"), ("f3", "-rm"), ("f4", "@SUM(A1)"), ("f5", "'=quoted")] {
            try sandbox.ok(["token", "register", id, "--owner", "alice", "--purpose", purpose, "--system", "github",
                            "--agent", "bot", "--expires", "2026-12-31"])
        }
        let csv = try sandbox.ok(["export", "--kind", "tokens"]).out
        let purposes = csv.split(separator: "\n").dropFirst().map { line in
            String(line.split(separator: ",", omittingEmptySubsequences: false)[3])
        }
        #expect(purposes == ["\"'=HYPERLINK(\"\"http://x\"\")\"", "'+1", "'-rm", "'@SUM(A1)", "''=quoted"])
        let target = Sandbox()
        try target.seedBasics()
        try target.ok(["import", write(target, "t.csv", csv)])
        let json = try jsonArray(try target.ok(["token", "list", "--format", "json"]).out)
        #expect(json.map { $0["purpose"] as? String } == ["=HYPERLINK(\"http://x\")", "+1", "-rm", "@SUM(A1)", "'=quoted"])
    }

    // MARK: RFC 4180

    @Test func csvWithBOMCRLFQuotedCommasQuotesAndAMultiLineFieldKeepsLineNumbers() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        let before = try sandbox.contentHash()
        let text = "\u{FEFF}" + Self.header + "\r\n"
            + "token,t1,,,,active,github,alice,\"a, \"\"quoted\"\" purpose\",bot,prod,\"repo:read,issues:write\",2026-05-01,2026-08-01,30d,,\"{\"\"k\"\":\"\"v\"\"}\"\r\n"
            + "token,t2,,,,active,github,alice,\"two\r\nlines\",bot,,,2026-05-01,2026-08-01,,,\r\n"
            + "token,t3,,,,active,github,alice,fine,bot,,,2026-05-01,not-a-date,,,\r\n"
        let result = try sandbox.run(["import", write(sandbox, "in.csv", text)])
        #expect(result.code == 3)
        #expect(result.err.contains("line 3, column 9 (purpose): purpose contains a control character"))
        #expect(result.err.contains("line 5, column 14 (expires_at): expires_at: 'not-a-date' is not a date"))
        #expect(!result.err.contains("line 2"))
        #expect(try sandbox.contentHash() == before)

        let good = "\u{FEFF}" + Self.header + "\r\n"
            + "token,t1,,,,active,github,alice,\"a, \"\"quoted\"\" purpose\",bot,prod,\"repo:read,issues:write\",2026-05-01,2026-08-01,30d,,\"{\"\"k\"\":\"\"v\"\"}\"\r\n"
        try sandbox.ok(["import", write(sandbox, "good.csv", good)])
        let token = try jsonObject(try sandbox.ok(["token", "show", "t1", "--format", "json"]).out)
        #expect(token["purpose"] as? String == "a, \"quoted\" purpose")
        #expect(token["scopes"] as? [String] == ["repo:read", "issues:write"])
        #expect(token["labels"] as? [String: String] == ["k": "v"])
        #expect(token["rotate_every"] as? String == "30d")
    }

    // MARK: Every bad row reported, nothing imported

    @Test func everyBadCSVRowIsReportedWithLineColumnAndReasonAndNothingIsImported() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        let fp = "sha256:" + String(repeating: "ab", count: 32)
        try sandbox.ok(["token", "register", "existing", "--owner", "alice", "--purpose", "p", "--system", "github",
                        "--agent", "bot", "--expires", "2026-12-31"])
        let before = try sandbox.contentHash()
        let rows = [
            "owner,carol,Carol,carol@example.com,,active,,,,,,,,,,,",                                // 2 ok
            "owner,bad id!,Bad,bad@example.com,,active,,,,,,,,,,,",                                  // 3 id
            "owner,eve,ghp_abcdefghijklmnopqrstuvwxyz0123456789,eve@example.com,,active,,,,,,,,,,,", // 4 secret
            "owner,frank,Frank,not-an-email,,active,,,,,,,,,,,",                                     // 5 email
            "agent,bot2,,,,active,github,nobody,,,,,,,,,",                                           // 6 unknown owner
            "token,t1,,,,active,github,alice,p,ghost,,,,2026-12-31,,,",                              // 7 unknown agent
            "token,t2,,,,active,github,alice,p,bot,,,2026-05-01,2026-04-01,,,",                      // 8 expiry before issue
            "token,t3,,,,active,github,alice,p,bot,,,,2026-12-31,3x,,",                              // 9 duration
            "token,t4,,,,active,github,alice,p,bot,,,,,,,",                                          // 10 expires missing
            "token,t5,,,,paused,github,alice,p,bot,,,,never,,,",                                     // 11 status
            "widget,w1,,,,,,,,,,,,,,,",                                                              // 12 kind
            "token,t6,,,,active,github,alice,p,bot,,,,never,,\(fp),",                                // 13 ok (fingerprint)
            "token,t7,,,,active,github,alice,p,bot,,,,never,,\(fp),",                                // 14 fingerprint reuse
            "token,t8,,,,active,github,alice,p,bot,,,,never",                                        // 15 width
            "token,t9,,,,active,github,alice,p,bot,,,,never,,,not-json",                              // 16 labels JSON
            "token,existing,,,,active,github,alice,p,bot,,,,never,,,",                               // 17 conflict
            "owner,gina,Gina,gina@example.com,,active,github,,,,,,,,,,",                             // 18 foreign column
            "token,t10,,,,active,github,alice,p,bot,,a b,,never,,,",                                 // 19 scopes
        ]
        let result = try sandbox.run(["import", write(sandbox, "bad.csv", ([Self.header] + rows).joined(separator: "\n") + "\n")])
        #expect(result.code == 3)
        #expect(result.err.contains("bad.csv: 16 bad records; nothing was imported"))
        let expected = [
            "line 3, column 2 (id): id 'bad id!' may only contain letters, digits and . _ : / @ -",
            "line 4, column 3 (name): name looks like a live secret",
            "line 5, column 4 (email): --email 'not-an-email' is not an email address",
            "line 6, column 8 (owner): unknown owner 'nobody'",
            "line 7, column 10 (agent): unknown agent 'ghost'",
            "line 8, column 14 (expires_at): --expires (2026-04-01T00:00:00Z) must be after the issue time",
            "line 9, column 15 (rotate_every): rotate_every: '3x' is not a duration",
            "line 10, column 14 (expires_at): expires_at is required",
            "line 11, column 6 (status): status 'paused' must be one of active, revoked",
            "line 12, column 1 (kind): kind 'widget' is not owner, system, agent, token or exception",
            "line 14, column 16 (fingerprint): this secret is already registered as token 't6'",
            "line 15: row has 14 fields; the header has 17",
            "line 16, column 17 (labels): labels must be a JSON object",
            "line 17, column 2 (id): token 'existing' already exists (pass --on-conflict skip or --on-conflict update)",
            "line 18, column 7 (system): column 'system' does not apply to owner records",
            "line 19, column 12 (scopes): --scopes entry 'a b' contains whitespace",
        ]
        for line in expected { #expect(result.err.contains(line), "missing: \(line)\n\(result.err)") }
        #expect(!result.err.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"), "a secret must never be echoed")
        #expect(!result.err.contains("line 2,") && !result.err.contains("line 13,"))
        #expect(try sandbox.contentHash() == before)
    }

    @Test func unknownHeaderColumnAndUnterminatedQuoteAreReported() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        let before = try sandbox.contentHash()
        let text = "kind,id,colour\nowner,x,red\ntoken,\"open,quote\n"
        let result = try sandbox.run(["import", write(sandbox, "bad.csv", text)])
        #expect(result.code == 3)
        #expect(result.err.contains("line 1, column 3 (colour): unknown column 'colour'"))
        #expect(result.err.contains("line 3: malformed CSV: unterminated quoted field starting on line 3"))
        #expect(try sandbox.contentHash() == before)
    }

    @Test func everyBadNDJSONAndJSONRecordIsReported() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        let before = try sandbox.contentHash()
        let ndjson = """
            {"kind":"owner","id":"carol","name":"Carol","email":"carol@example.com"}
            {"kind":"owner","id":"dan","name":"Dan",
            [1,2]
            {"kind":"token","id":"t1","owner":"alice","purpose":"p","system":"github","agent":"bot","expires_at":"never","scopes":"a b"}
            {"kind":"token","id":"t2","owner":"alice","purpose":7,"system":"github","agent":"bot","expires_at":"never","colour":"red"}

            {"kind":"agent","id":"a2","system":"s","owner":"alice","labels":{}}
            """
        let result = try sandbox.run(["import", write(sandbox, "bad.ndjson", ndjson)])
        #expect(result.code == 3)
        #expect(result.err.contains("5 bad records"))
        #expect(result.err.contains("line 2, column ") && result.err.contains(": malformed JSON"))
        #expect(result.err.contains("line 3: each line must be a JSON object"))
        #expect(result.err.contains("line 4, field scopes: --scopes entry 'a b' contains whitespace"))
        #expect(result.err.contains("line 5, field colour: unknown field 'colour'"))
        #expect(result.err.contains("line 5, field purpose: purpose must be a string, not 7"))
        #expect(result.err.contains("line 7, field labels: field 'labels' does not apply to agent records"))
        #expect(try sandbox.contentHash() == before)

        let json = """
            [
              {"kind": "owner", "id": "carol", "name": "Carol", "email": "carol@example.com"},
              {"kind": "token", "id": "t1", "owner": "alice", "purpose": "p", "system": "github",
               "agent": "bot",
               "expires_at": "2026-13-01"},
              "not a record"
            ]
            """
        let jsonResult = try sandbox.run(["import", write(sandbox, "bad.json", json)])
        #expect(jsonResult.code == 3)
        #expect(jsonResult.err.contains("line 5, field expires_at: expires_at: '2026-13-01' is not a date"))
        #expect(jsonResult.err.contains("line 6: record 2 must be a JSON object"))
        let broken = try sandbox.run(["import", write(sandbox, "broken.json", "[{\"kind\": \"owner\",}]")])
        #expect(broken.code == 3)
        #expect(broken.err.contains("line 1, column"))
        #expect(try sandbox.contentHash() == before)
    }

    // MARK: Atomicity, conflicts, dry run

    @Test func aFailedImportLeavesTheStoreUnchangedAndCreatesNoStore() throws {
        let sandbox = Sandbox()
        let file = write(sandbox, "in.csv", Self.header + "\nowner,carol,Carol,carol@example.com,,,,,,,,,,,,,\ntoken,t1,,,,,github,carol,p,nobot,,,,never,,,\n")
        let result = try sandbox.run(["import", file])
        #expect(result.code == 3)
        #expect(result.err.contains("line 3, column 10 (agent): unknown agent 'nobot'"))
        #expect(try sandbox.contentHash() == "<no store>")
        #expect(try sandbox.run(["import", sandbox.path("missing.csv")]).code == 3)
        #expect(try sandbox.contentHash() == "<no store>")
    }


    @Test(.sqliteOnly("only SQLite builds a new store's indexes after its import"))
    func anImportIntoANewStoreBuildsTheDeferredIndexesAsTheMigrationsDo() throws {
        // Every CREATE INDEX index with its text, in the order made (`.dump` writes them in that order).
        let indexes = "SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid"
        let migrated = Sandbox()
        try migrated.ok(["owner", "add", "x", "--name", "X", "--email", "x@example.com"])
        let expected = try migrated.sql(indexes)
        #expect(expected.contains("audit_by_kind_time: CREATE INDEX audit_by_kind_time ON audit_log(entity_kind, at, entity_id)"))
        #expect(expected.contains("tokens_by_owner: CREATE INDEX tokens_by_owner ON tokens(owner_id)"))
        #expect(expected.contains("usage_human: CREATE INDEX usage_human ON usage(token_id, at) WHERE human IS NOT NULL"))

        let sandbox = Sandbox()
        try sandbox.ok(["import", Self.example("inventory.csv")])
        #expect(try sandbox.sql(indexes) == expected)
        #expect(try sandbox.sql("PRAGMA integrity_check") == "ok")
        #expect(try sandbox.sql("SELECT count(*) FROM audit_log INDEXED BY audit_by_kind_time WHERE entity_kind > ''")
                == sandbox.sql("SELECT count(*) FROM audit_log"))
        #expect(try sandbox.sql("SELECT count(*) FROM tokens INDEXED BY tokens_by_owner WHERE owner_id > ''")
                == sandbox.sql("SELECT count(*) FROM tokens"))
        try sandbox.ok(["audit", "verify"])

        // A store with no record and no audit entry yet takes the same path; a failed import or a dry run there
        // rolls the DROPs back.
        let empty = Sandbox()
        try empty.ok(["owner", "add", "x", "--name", "X", "--email", "x@example.com"])
        _ = try empty.sql("DELETE FROM owners; DELETE FROM audit_log")
        let bad = write(empty, "in.csv", Self.header + "\ntoken,t1,,,,,github,carol,p,nobot,,,,never,,,\n")
        #expect(try empty.run(["import", bad]).code == 3)
        #expect(try empty.sql(indexes) == expected)
        try empty.ok(["import", Self.example("inventory.csv"), "--dry-run"])
        #expect(try empty.sql(indexes) == expected)
        try empty.ok(["import", Self.example("inventory.csv")])
        #expect(try empty.sql(indexes) == expected)
        try empty.ok(["audit", "verify"])
    }
    @Test func conflictModesFailSkipAndUpdateAndDryRunWritesNothing() throws {
        let sandbox = Sandbox()
        try sandbox.ok(["import", Self.example("inventory.csv")])
        let imported = try sandbox.contentHash()
        let again = try sandbox.run(["import", Self.example("inventory.csv")])
        #expect(again.code == 3)
        #expect(again.err.contains("8 bad records"))
        #expect(try sandbox.ok(["import", Self.example("inventory.csv"), "--on-conflict", "skip"]).out
                == "imported \(Self.example("inventory.csv")): 0 created, 0 updated, 0 unchanged, 8 skipped (written: owners 0, systems 0, agents 0, tokens 0, exceptions 0)\n")
        #expect(try sandbox.contentHash() == imported)

        let changed = write(sandbox, "changed.csv", Self.header + "\nowner,alice,Alice Ng-Smith,alice@example.com,platform,active,,,,,,,,,,,\nowner,zoe,Zoe,zoe@example.com,,,,,,,,,,,,,\n")
        let dry = try sandbox.ok(["import", changed, "--on-conflict", "update", "--dry-run"])
        #expect(dry.out == "update owner alice\ncreate owner zoe\ndry run, nothing was written: would be 1 created, 1 updated, 0 unchanged, 0 skipped (would write: owners 2, systems 0, agents 0, tokens 0, exceptions 0)\n")
        #expect(try sandbox.contentHash() == imported)
        try sandbox.ok(["import", changed, "--on-conflict", "update"])
        let alice = try jsonObject(try sandbox.ok(["owner", "show", "alice", "--format", "json"]).out)
        #expect(alice["name"] as? String == "Alice Ng-Smith")
        let log = try sandbox.contentHash()
        #expect(log.contains("owner.import"))
    }

    @Test func importWithKindReadsAFileWithoutAKindColumn() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        let file = write(sandbox, "tokens.csv", "id,owner,purpose,system,agent,expires_at\ngh-1,alice,ci,github,bot,+30d\n")
        #expect(try sandbox.run(["import", file]).err.contains("line 2: no kind"))
        try sandbox.ok(["import", file, "--kind", "tokens"])
        let token = try jsonObject(try sandbox.ok(["token", "show", "gh-1", "--format", "json"]).out)
        #expect(token["expires_at"] as? String == "2026-07-01T00:00:00Z")
        #expect(token["rotate_every"] as? String == "90d")
    }

    @Test func shippedExamplesImportAndTheirPolicyValidates() throws {
        let sandbox = Sandbox()
        try sandbox.ok(["policy", "check", Self.example("policy.json")])
        try sandbox.ok(["import", Self.example("inventory.csv"), "--policy", Self.example("policy.json")])
        let other = Sandbox()
        try other.ok(["import", Self.example("inventory.ndjson")])
        #expect(try other.ok(["export"]).out == (try sandbox.ok(["export"]).out))
    }
}
