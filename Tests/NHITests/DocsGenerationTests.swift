import Foundation
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
import Testing

private let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

private func checkedIn(_ path: String) throws -> String {
    try String(contentsOf: repoRoot.appendingPathComponent(path), encoding: .utf8)
}

@Suite struct DocsGenerationTests {
    @Test func manPageIsNotStale() throws {
        let expected = ManPage.render(CLI.commands)
        #expect(try checkedIn("Docs/nhi.1") == expected, "Docs/nhi.1 is stale: run `make man` and commit it")
    }

    @Test func referenceIsNotStale() throws {
        let expected = ManPage.reference(CLI.commands)
        #expect(try checkedIn("Docs/reference.md") == expected, "Docs/reference.md is stale: run `make man` and commit it")
    }

    @Test func everyCommandIsInTheManPageAndReference() {
        let man = ManPage.render(CLI.commands)
        let reference = ManPage.reference(CLI.commands)
        for spec in CLI.commands {
            #expect(man.contains(".SS \"nhi \(spec.name.replacingOccurrences(of: "-", with: "\\-"))\""), "man page lacks \(spec.name)")
            #expect(reference.contains("### nhi \(spec.name)\n"), "reference lacks \(spec.name)")
            for option in spec.options {
                #expect(man.contains("\\fB\\-\\-\(option.name.replacingOccurrences(of: "-", with: "\\-"))\\fR"), "man page lacks --\(option.name) of \(spec.name)")
            }
        }
    }

    @Test func roffEscapesWhatRoffWouldInterpret() {
        #expect(ManPage.roff(#"C:\path --db"#) == #"C:\epath \-\-db"#)
        #expect(ManPage.roff(".hidden") == #"\&.hidden"#)
        #expect(ManPage.roff("'quoted") == #"\&'quoted"#)
        #expect(ManPage.anchor("nhi report rotation-due") == "nhi-report-rotation-due")
        #expect(ManPage.cell("a|b") == #"a\|b"#)
    }

    @Test func manPageHasNoDateSoItIsReproducible() {
        let header = ManPage.render(CLI.commands).split(separator: "\n")[1]
        #expect(header == ".TH NHI 1 \"\" \"nhi \(Version.string)\" \"User Commands\"")
    }
}

/// Runs a shell script with bash and returns its standard output.
private func bash(_ script: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = try FileText.readAll(pipe.fileHandleForReading.fileDescriptor).get()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite struct CompletionModelTests {
    /// A small table with the shapes completion must handle: a state-list option, a file option, choices, formats.
    static let table: [CommandSpec] = [
        CommandSpec(["check"], abstract: "x",
                    options: [OptionSpec("fail-on", value: "STATES", help: "x"),
                              OptionSpec("out", value: "FILE", help: "x"),
                              OptionSpec("level", value: "LEVEL", help: "x", choices: ["low", "high"]),
                              OptionSpec("quiet", help: "x")],
                    formats: ["text", "json", "sarif"]) { _ in .success },
        CommandSpec(["report", "owners"], abstract: "x", formats: ["table", "json"]) { _ in .success },
        CommandSpec(["import"], abstract: "x", arguments: [ArgumentSpec("FILE", help: "x")]) { _ in .success },
    ]

    func complete(_ words: [String]) throws -> [String] {
        let script = Completion.script(for: "bash", commands: Self.table)!
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nhi-comp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("nhi.bash")
        try script.write(to: file, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: dir.appendingPathComponent("policy.json").path, contents: Data())
        let quotedWords = words.map { "'" + $0 + "'" }.joined(separator: " ")
        let output = try bash("""
            cd '\(dir.path)' && source '\(file.path)'
            COMP_WORDS=(\(quotedWords)); COMP_CWORD=\(words.count - 1); _nhi
            printf '%s\\n' "${COMPREPLY[@]}"
            """)
        return output.split(separator: "\n").map(String.init)
    }

    @Test func completesCommandWordsAtEachLevel() throws {
        #expect(try complete(["nhi", ""]) == ["check", "report", "import", "help"])
        #expect(try complete(["nhi", "rep"]) == ["report"])
        #expect(try complete(["nhi", "report", ""]) == ["owners"])
        #expect(try complete(["nhi", "--db", "x.db", "report", "o"]) == ["owners"])
    }

    @Test func completesFlagsOfTheCommandWithGlobals() throws {
        let flags = try complete(["nhi", "check", "--"])
        #expect(flags.prefix(5) == ["--fail-on", "--out", "--level", "--quiet", "--format"])
        #expect(flags.contains("--db") && flags.contains("--as-of") && flags.contains("--help"))
        #expect(!flags.contains("--version"))
        #expect(try complete(["nhi", "check", "--fa"]) == ["--fail-on"])
    }

    @Test func completesKnownValues() throws {
        #expect(try complete(["nhi", "check", "--format", ""]) == ["text", "json", "sarif"])
        #expect(try complete(["nhi", "report", "owners", "--format", "j"]) == ["json"])
        #expect(try complete(["nhi", "check", "--level", ""]) == ["low", "high"])
        #expect(try complete(["nhi", "check", "--fail-on", "ex"]) == ["expired"])
        // A comma-separated list completes its last element.
        #expect(try complete(["nhi", "check", "--fail-on", "expired,orph"]) == ["expired,orphaned"])
        #expect(try complete(["nhi", "check", "--fail-on", "expired,pol"]) == ["expired,policy-violation"])
    }

    @Test func completesFileNamesWhereAFileIsExpected() throws {
        #expect(try complete(["nhi", "check", "--policy", "pol"]) == ["policy.json"])
        #expect(try complete(["nhi", "check", "--out", "pol"]) == ["policy.json"])
        #expect(try complete(["nhi", "import", "pol"]) == ["policy.json"])
        // A flag that takes no value does not swallow the next word.
        #expect(try complete(["nhi", "check", "--quiet", "--fo"]) == ["--format"])
    }

    @Test func scriptsQuoteTheirData() {
        #expect(Completion.quoted("it's") == #"'it'\''s'"#)
        #expect(Completion.quotedFish(#"a\b'c"#) == #"'a\\b\'c'"#)
        #expect(Completion.script(for: "powershell", commands: Self.table) == nil)
    }
}
