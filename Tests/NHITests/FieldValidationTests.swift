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

/// The CLI and import read each field through its one rule (`Fields`): the same value is refused by both with the
/// same message (the CLI naming the flag, import the column), and accepted by both with the same result. A limit
/// or shape written again in one caller makes one of these rows fail.
@Suite struct FieldValidationTests {
    static let fakeSecret = "ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x"

    /// A store in a temporary directory, driven in-process through `CLI.run`.
    final class InProcess {
        let dir: String
        var db: String { dir + "/nhi.db" }
        let variables = ["NHI_NOW": "2026-06-01T00:00:00Z", "NHI_ACTOR": "tester"]

        init() {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("nhi-fields-\(UUID().uuidString)").path
            try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func run(_ args: [String]) -> (code: Int32, out: String, err: String) {
            let out = OutputSink(capturing: ()), err = OutputSink(capturing: ())
            let code = CLI.run(["--db", db] + args, environment: Environment(variables: variables, stdout: out, stderr: err) { nil })
            return (code, out.captured, err.captured)
        }

        @discardableResult
        func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
            let r = run(args)
            #expect(r.code == 0, "nhi \(args.joined(separator: " ")): \(r.err)", sourceLocation: sourceLocation)
            return r.out
        }

        func write(_ name: String, _ text: String) -> String {
            let path = dir + "/" + name
            #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
            return path
        }

        /// Every table and row (as the end-to-end `expectFailure` compares).
        func dump() throws -> String {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["sqlite3", db, ".dump"]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = try FileText.readAll(pipe.fileHandleForReading.fileDescriptor).get()
            process.waitUntilExit()
            return String(decoding: data, as: UTF8.self)
        }

        func seed() {
            ok(["owner", "add", "alice", "--name", "Alice", "--email", "alice@example.com"])
            ok(["agent", "add", "bot", "--system", "github", "--owner", "alice"])
        }
    }

    /// One record's fields: (CLI flag, or ID for the argument; import column; value).
    typealias Fields3 = [(flag: String, column: String, value: String)]

    static let base: [String: ([String], Fields3)] = [
        "owner": (["owner", "add"], [("ID", "id", "carol"), ("name", "name", "Carol"), ("email", "email", "carol@example.com"),
                                     ("team", "team", "platform")]),
        "agent": (["agent", "add"], [("ID", "id", "bot2"), ("system", "system", "github"), ("owner", "owner", "alice")]),
        "token": (["token", "register"], [("ID", "id", "t1"), ("owner", "owner", "alice"), ("purpose", "purpose", "triage"),
                                          ("system", "system", "github"), ("agent", "agent", "bot"), ("expires", "expires_at", "never")]),
    ]

    /// A value for one field, given to both paths. `importValue` when the import form differs (labels are an
    /// object there, `key=value` on the command line); `cliLabel` when the CLI does not name a flag (ids).
    struct Row: CustomTestStringConvertible, Sendable {
        let kind: String, flag: String, column: String, value: String
        var importValue: String? = nil
        var cliLabel: String? = nil
        /// The message, given the label the caller names; nil for a value both must accept.
        var message: (@Sendable (String) -> String)? = nil
        var testDescription: String { "\(kind) \(column)=\(value.prefix(30))" }
    }

    static let refused: [Row] = [
        Row(kind: "token", flag: "environment", column: "environment", value: String(repeating: "e", count: 65),
            message: { "\($0) is longer than 64 characters" }),
        Row(kind: "token", flag: "purpose", column: "purpose", value: "copy of \(fakeSecret)",
            message: { "\($0) looks like a live secret (it contains what looks like a credential: GitHub token); nhi never stores secrets: "
                + "record the token by its id and pass its value with --secret-stdin, which keeps only a SHA-256 fingerprint" }),
        Row(kind: "token", flag: "purpose", column: "purpose", value: "   ", message: { "\($0) must not be empty" }),
        Row(kind: "token", flag: "ID", column: "id", value: "t one", cliLabel: "token id",
            message: { "\($0) 't one' may only contain letters, digits and . _ : / @ -" }),
        Row(kind: "owner", flag: "ID", column: "id", value: "carol!", cliLabel: "owner id",
            message: { "\($0) 'carol!' may only contain letters, digits and . _ : / @ -" }),
        Row(kind: "token", flag: "owner", column: "owner", value: "al ice",
            message: { "\($0) 'al ice' may only contain letters, digits and . _ : / @ -" }),
        Row(kind: "agent", flag: "owner", column: "owner", value: String(repeating: "o", count: 129),
            message: { "\($0) is longer than 128 characters" }),
        Row(kind: "token", flag: "rotate-every", column: "rotate_every", value: "3x",
            message: { "\($0): '3x' is not a duration (use 30d, 12h, 2w or 90m)" }),
        Row(kind: "token", flag: "review-every", column: "review_every", value: "0d",
            message: { "\($0): '0d' is not a duration (use 30d, 12h, 2w or 90m)" }),
        Row(kind: "token", flag: "expires", column: "expires_at", value: "soon",
            message: { "\($0): 'soon' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)" }),
        Row(kind: "token", flag: "issued-at", column: "issued_at", value: "2026-02-29",
            message: { "\($0): '2026-02-29' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)" }),
        Row(kind: "owner", flag: "name", column: "name", value: "Carol\tNg",
            message: { "\($0) contains a control character (newlines, tabs and escapes are not allowed)" }),
        Row(kind: "owner", flag: "team", column: "team", value: "plat\u{1B}[31mform",
            message: { "\($0) contains a control character (newlines, tabs and escapes are not allowed)" }),
        Row(kind: "agent", flag: "system", column: "system", value: String(repeating: "s", count: 129),
            message: { "\($0) is longer than 128 characters" }),
        // Email and scopes name the flag from both paths, as they always have.
        Row(kind: "owner", flag: "email", column: "email", value: "carol", message: { _ in "--email 'carol' is not an email address (name@example.com)" }),
        Row(kind: "owner", flag: "email", column: "email", value: String(repeating: "c", count: 250) + "@x.io",
            message: { _ in "--email is longer than 254 characters" }),
        Row(kind: "token", flag: "scopes", column: "scopes", value: "a,,b", message: { _ in "--scopes has an empty entry (write a,b,c)" }),
        Row(kind: "token", flag: "scopes", column: "scopes", value: "a,b c", message: { _ in "--scopes entry 'b c' contains whitespace" }),
        Row(kind: "token", flag: "label", column: "labels", value: "k k=v", importValue: #"{"k k":"v"}"#,
            message: { _ in "label key 'k k' must be 1-64 letters, digits or . _ - / starting with a letter or digit" }),
        Row(kind: "token", flag: "label", column: "labels", value: "k=\(String(repeating: "v", count: 257))",
            importValue: #"{"k":"\#(String(repeating: "v", count: 257))"}"#,
            message: { _ in "label 'k' is longer than 256 characters" }),
    ]

    /// Values at the limits: both must accept them and store the same token.
    static let accepted: [Row] = [
        Row(kind: "token", flag: "environment", column: "environment", value: String(repeating: "e", count: 64)),
        Row(kind: "token", flag: "purpose", column: "purpose", value: String(repeating: "p", count: 500)),
        Row(kind: "token", flag: "ID", column: "id", value: "t/" + String(repeating: "x", count: 126)),
        Row(kind: "token", flag: "scopes", column: "scopes", value: "b,a,b"),
        Row(kind: "token", flag: "rotate-every", column: "rotate_every", value: "2w"),
        Row(kind: "token", flag: "review-every", column: "review_every", value: "1234567m"),
        Row(kind: "token", flag: "expires", column: "expires_at", value: "+30d"),
        Row(kind: "token", flag: "issued-at", column: "issued_at", value: "2024-02-29T12:00:00+02:00"),
        Row(kind: "token", flag: "label", column: "labels", value: "k=Zoë", importValue: #"{"k":"Zoë"}"#),
        Row(kind: "token", flag: "system", column: "system", value: String(repeating: "s", count: 128)),
    ]

    /// The record of `row.kind` with `row`'s value put in.
    static func fields(_ row: Row, forImport: Bool) -> ([String], Fields3) {
        let (command, base) = Self.base[row.kind]!
        var fields = base.filter { $0.column != row.column }
        fields.append((row.flag, row.column, forImport ? (row.importValue ?? row.value) : row.value))
        return (command, fields)
    }

    static func cliArguments(_ row: Row) -> [String] {
        let (command, fields) = fields(row, forImport: false)
        return command + fields.filter { $0.flag == "ID" }.map(\.value) + fields.filter { $0.flag != "ID" }.flatMap { ["--" + $0.flag, $0.value] }
    }

    static func csv(_ row: Row) -> (text: String, column: Int) {
        let (_, fields) = fields(row, forImport: true)
        let header = ["kind"] + fields.map(\.column)
        return (CSVWriter.line(header) + CSVWriter.line([row.kind] + fields.map(\.value)), header.firstIndex(of: row.column)! + 1)
    }

    /// As `nhi export --format ndjson` writes it: scopes an array, labels an object.
    static func ndjson(_ row: Row) throws -> String {
        let (_, fields) = fields(row, forImport: true)
        var object: JSONObject = ["kind": .string(row.kind)]
        for field in fields {
            switch field.column {
            case "scopes": object["scopes"] = .array(field.value.split(separator: ",", omittingEmptySubsequences: false).map { .string(String($0)) })
            case "labels": object["labels"] = try JSONParser.parse(field.value)
            default: object[field.column] = .string(field.value)
            }
        }
        return JSON.object(object).serialized() + "\n"
    }

    @Test(arguments: refused)
    func refusedByTheCLIAndByImportAlike(_ row: Row) throws {
        let s = InProcess()
        s.seed()
        let before = try s.dump()
        let message = row.message!
        let cli = s.run(Self.cliArguments(row))
        let (csvText, column) = Self.csv(row)
        let csv = s.run(["import", s.write("one.csv", csvText)])
        let ndjson = s.run(["import", s.write("one.ndjson", try Self.ndjson(row))])
        for (path, result) in [("cli", cli), ("csv", csv), ("ndjson", ndjson)] {
            #expect(result.code == 3, "\(path): exit \(result.code): \(result.err)")
            #expect(result.out.isEmpty, "\(path) wrote \(result.out)")
        }
        #expect(cli.err == "nhi: error: \(message(row.cliLabel ?? "--" + row.flag))\n")
        #expect(csv.err.contains("\n  line 2, column \(column) (\(row.column)): \(message(row.column))\n"), "\(csv.err)")
        #expect(ndjson.err.contains("\n  line 1, field \(row.column): \(message(row.column))\n"), "\(ndjson.err)")
        #expect(try s.dump() == before, "a refused value changed the store")
    }

    @Test(arguments: accepted)
    func acceptedByTheCLIAndByImportAlike(_ row: Row) throws {
        let id = Self.fields(row, forImport: false).1.first { $0.column == "id" }!.value
        var shown: [String] = []
        for path in ["cli", "csv", "ndjson"] {
            let s = InProcess()
            s.seed()
            switch path {
            case "cli": s.ok(Self.cliArguments(row))
            case "csv": s.ok(["import", s.write("one.csv", Self.csv(row).text)])
            default: s.ok(["import", s.write("one.ndjson", try Self.ndjson(row))])
            }
            shown.append(s.ok(["token", "show", id, "--format", "json"]))
        }
        #expect(!shown[0].isEmpty)
        #expect(shown[1] == shown[0], "csv import stored another token than the CLI")
        #expect(shown[2] == shown[0], "ndjson import stored another token than the CLI")
    }

    /// Each field's names are the ones the CLI declares and import reads: a column renamed in `Fields` or in
    /// `ExchangeShape`, or a flag renamed in the command table, fails here.
    @Test func fieldNamesAreTheCommandsFlagsAndTheImportColumns() {
        let token: [(String, String)] = [Fields.owner, Fields.agent, Fields.purpose, Fields.system, Fields.environment]
            .map { ($0.flag, $0.column) }
            + [(Fields.scopes.flag, Fields.scopes.column), (Fields.rotateEvery.flag, Fields.rotateEvery.column), (Fields.reviewEvery.flag, Fields.reviewEvery.column),
               (Fields.issuedAt.flag, Fields.issuedAt.column), (Fields.expires.flag, Fields.expires.column)]
        let flags = Set(InventoryCommands.tokenOptions(required: false).map(\.name))
        for (flag, column) in token {
            #expect(flags.contains(flag), "token register/update has no --\(flag)")
            #expect(ExchangeShape.tokenKeys.contains(column), "token records have no \(column)")
        }
        let recorded = [Fields.lastRotatedAt, Fields.lastReviewedAt, Fields.revokedAt, Fields.lastUsedAt, Fields.createdAt,
                        Fields.updatedAt].map(\.column) + [Fields.fingerprint.column, Fields.revokeReason.column, Fields.tokenStatus.column]
        #expect(Set(recorded).isSubset(of: ExchangeShape.tokenKeys))
        #expect(Set([Fields.id, Fields.name, Fields.email, Fields.team, Fields.ownerStatus].map(\.column)
            + [Fields.departedAt.column]).isSubset(of: ExchangeShape.ownerKeys))
        #expect(Set([Fields.id, Fields.system, Fields.owner, Fields.agentStatus].map(\.column)
            + [Fields.decommissionedAt.column]).isSubset(of: ExchangeShape.agentKeys))
        #expect(InventoryCommands.token.first { $0.path == ["token", "revoke"] }?.options.contains { $0.name == Fields.revokeReason.flag } == true)
    }

    /// `check` (whose default lives in the CLI) and `StateQuery` (reports, `token show`) use one max-unused default.
    @Test func oneMaxUnusedDefault() throws {
        #expect(StateQuery(asOf: 0).maxUnused == PolicyRules.defaultMaxUnused)
        let s = InProcess()
        s.seed()
        // Unused for one day less and one day more than the default.
        let days = PolicyRules.defaultMaxUnused / 86_400
        for (id, age) in [("young", days - 1), ("old", days + 1)] {
            s.ok(["token", "register", id, "--owner", "alice", "--purpose", "p", "--system", "github", "--agent", "bot",
                  "--expires", "never", "--issued-at", "-\(age)d", "--rotate-every", "52w", "--review-every", "52w"])
        }
        let check = try JSONParser.parse(s.ok(["check", "--format", "json"])).objectValue!
        #expect(check["max_unused"] == .string(Duration.format(PolicyRules.defaultMaxUnused)))
        let stale = check["findings"]!.arrayValue!.compactMap(\.objectValue).filter { $0["state"] == "stale" }.compactMap { $0["token"]?.stringValue }
        #expect(stale == ["old"])
        for id in ["young", "old"] {
            let states = try JSONParser.parse(s.ok(["token", "show", id, "--format", "json"])).objectValue!["states"]!.arrayValue!
            #expect(states.contains("stale") == (id == "old"), "token show \(id): \(states)")
        }
    }
}
