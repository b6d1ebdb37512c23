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

@Suite struct ParserTests {
    static let table: [CommandSpec] = [
        CommandSpec(["owner", "add"], abstract: "Add.", arguments: [ArgumentSpec("ID", help: "id")],
                    options: [OptionSpec("name", value: "NAME", help: "Name.", required: true),
                              OptionSpec("email", value: "EMAIL", help: "Email.", required: true),
                              OptionSpec("label", value: "K=V", help: "Label.", repeatable: true),
                              OptionSpec("quiet", help: "No output.")]) { _ in .success },
        CommandSpec(["owner", "list"], abstract: "List.",
                    options: [OptionSpec("status", value: "STATUS", help: "Status.", choices: ["active", "departed"])],
                    formats: CommandSpec.listFormats) { _ in .success },
        CommandSpec(["scan"], abstract: "Scan.", arguments: [ArgumentSpec("PATH", help: "files", variadic: true)]) { _ in .success },
    ]
    let parser = CommandLineParser(commands: Self.table)

    struct Parsed {
        let spec: CommandSpec
        let arguments: [String: [String]]
        let options: [String: [String]]
    }

    func run(_ argv: [String]) throws -> Parsed {
        guard case .run(let spec, let arguments, let options) = try parser.parse(argv) else {
            throw NHIError.usage("not a run")
        }
        return Parsed(spec: spec, arguments: arguments, options: options)
    }

    func usageError(_ argv: [String]) -> NHIError? {
        do { _ = try parser.parse(argv); return nil } catch { return error }
    }

    @Test func selectsTheLeafAndReadsArgumentsAndOptions() throws {
        let p = try run(["owner", "add", "alice", "--name", "Alice", "--email=a@example.com", "--label", "a=1", "--label", "b=2", "--quiet"])
        #expect(p.spec.path == ["owner", "add"])
        #expect(p.arguments["ID"] == ["alice"])
        #expect(p.options["name"] == ["Alice"])
        #expect(p.options["email"] == ["a@example.com"])
        #expect(p.options["label"] == ["a=1", "b=2"])
        #expect(p.options["quiet"] == [""])
    }

    @Test func globalOptionsStandBeforeOrAfterTheCommandWords() throws {
        let before = try run(["--db", "x.db", "--actor", "ci", "owner", "list"])
        let middle = try run(["owner", "--db", "x.db", "list"])
        let after = try run(["owner", "list", "--db", "x.db", "--format", "json"])
        #expect(before.options["db"] == ["x.db"])
        #expect(before.options["actor"] == ["ci"])
        #expect(middle.options["db"] == ["x.db"])
        #expect(after.options["db"] == ["x.db"])
        #expect(after.options["format"] == ["json"])
    }

    @Test func doubleDashEndsOptions() throws {
        let p = try run(["owner", "add", "--name", "N", "--email", "e@x.io", "--", "--looks-like-a-flag"])
        #expect(p.arguments["ID"] == ["--looks-like-a-flag"])
        let scan = try run(["scan", "a.json", "--", "-b.json", "--help"])
        #expect(scan.arguments["PATH"] == ["a.json", "-b.json", "--help"])
    }

    @Test func unknownOptionNamesTheNearestValidOne() {
        let error = usageError(["owner", "add", "x", "--nmae", "N", "--email", "e@x.io"])
        #expect(error?.kind == .usage)
        #expect(error?.message == "unknown option '--nmae'. Did you mean '--name'?")
        #expect(usageError(["owner", "list", "--fromat", "json"])?.message == "unknown option '--fromat'. Did you mean '--format'?")
        // Nothing close: no suggestion.
        #expect(usageError(["owner", "list", "--zzzzzzzz"])?.message == "unknown option '--zzzzzzzz'")
        #expect(usageError(["owner", "list", "-x"])?.message.contains("options are spelled --name") == false)
        #expect(usageError(["-x", "owner", "list"])?.message.contains("options are spelled --name") == true)
    }

    @Test func unknownCommandNamesTheNearestValidOne() {
        #expect(usageError(["owner", "lst"])?.message == "unknown command 'lst' for 'nhi owner'. Did you mean 'list'?")
        #expect(usageError(["ownr", "list"])?.message == "unknown command 'ownr'. Did you mean 'owner'?")
        #expect(usageError(["owner"])?.message.contains("needs a subcommand: add, list") == true)
    }

    @Test func missingValuesAndRequiredOptionsAreNamed() {
        let missingValue = usageError(["owner", "add", "x", "--email", "e@x.io", "--name"])
        #expect(missingValue?.message == "--name needs a value (--name NAME)")
        let missingOption = usageError(["owner", "add", "x", "--name", "N"])
        #expect(missingOption?.message.hasPrefix("missing --email EMAIL") == true)
        let missingArgument = usageError(["owner", "add", "--name", "N", "--email", "e@x.io"])
        #expect(missingArgument?.message.hasPrefix("missing ID") == true)
        #expect(usageError(["scan"])?.message.hasPrefix("missing PATH") == true)
        #expect(usageError(["owner", "add", "x", "y", "--name", "N", "--email", "e@x.io"])?.message == "unexpected argument 'y'")
    }

    @Test func choicesFlagsAndRepetition() {
        #expect(usageError(["owner", "list", "--status", "gone"])?.message == "--status must be one of active, departed, not 'gone'")
        #expect(usageError(["owner", "add", "x", "--name", "N", "--email", "e@x.io", "--quiet=yes"])?.message == "--quiet takes no value")
        #expect(usageError(["owner", "add", "x", "--name", "N", "--name", "M", "--email", "e@x.io"])?.message == "--name is given more than once")
        #expect(usageError(["owner", "list", "--format", "xml"])?.message.hasPrefix("--format must be one of table, json, csv, ndjson") == true)
        #expect(usageError(["owner", "add", "x", "--name", "N", "--email", "e@x.io", "--format", "json"])?.message == "'nhi owner add' has no --format")
    }

    @Test func helpAndVersion() throws {
        guard case .help(let top) = try parser.parse([]) else { Issue.record("no help"); return }
        #expect(top == [])
        guard case .help(let leaf) = try parser.parse(["owner", "add", "--help"]) else { Issue.record("no help"); return }
        #expect(leaf == ["owner", "add"])
        guard case .help(let viaWord) = try parser.parse(["help", "owner", "add"]) else { Issue.record("no help"); return }
        #expect(viaWord == ["owner", "add"])
        guard case .help(let withGlobal) = try parser.parse(["help", "owner", "add", "--db", "x.db"]) else { Issue.record("no help"); return }
        #expect(withGlobal == ["owner", "add"])
        guard case .help(let group) = try parser.parse(["owner", "-h"]) else { Issue.record("no help"); return }
        #expect(group == ["owner"])
        guard case .version = try parser.parse(["--version"]) else { Issue.record("no version"); return }
        // --help wins over a missing required option.
        guard case .help = try parser.parse(["owner", "add", "--help"]) else { Issue.record("no help"); return }
    }

    @Test func suggestionDistance() {
        #expect(Suggest.distance("kitten", "sitting") == 3)
        #expect(Suggest.nearest("regster", among: ["register", "rotate", "revoke"]) == "register")
        #expect(Suggest.nearest("x", among: ["register"]) == nil)
    }

    // MARK: the real command table

    @Test func realTableHasUniquePathsAndHelpWithAnExampleForEveryCommand() {
        let commands = CLI.commands
        #expect(commands.count >= 13)
        #expect(Set(commands.map(\.name)).count == commands.count)
        for spec in commands {
            let help = Help.command(spec)
            #expect(help.contains("USAGE: nhi \(spec.name)"), "\(spec.name)")
            #expect(!spec.examples.isEmpty, "'nhi \(spec.name)' has no example in its help")
            #expect(help.contains("EXAMPLES:\n  nhi ") || help.contains("EXAMPLES:\n  printf"), "\(spec.name)")
        }
    }

    @Test func realTableParsesTheSpecCommandLines() throws {
        let real = CommandLineParser(commands: CLI.commands)
        guard case .run(let spec, let arguments, let options) = try real.parse(
            ["token", "register", "gh-bot", "--owner", "alice", "--purpose", "triage", "--system", "github", "--agent", "bot",
             "--expires", "+30d", "--scopes", "a,b", "--label", "k=v", "--label", "x=y", "--secret-stdin", "--db", "s.db"]) else {
            Issue.record("did not parse"); return
        }
        #expect(spec.name == "token register")
        #expect(arguments["ID"] == ["gh-bot"])
        #expect(options["label"] == ["k=v", "x=y"])
        #expect(options["secret-stdin"] != nil)
        #expect(options["db"] == ["s.db"])
        do {
            _ = try real.parse(["token", "regster", "x"])
            Issue.record("accepted a typo")
        } catch {
            #expect(error.message == "unknown command 'regster' for 'nhi token'. Did you mean 'register'?")
        }
        do {
            _ = try real.parse(["token", "revoke", "x"])
            Issue.record("accepted a missing --reason")
        } catch {
            #expect(error.message.hasPrefix("missing --reason TEXT"))
        }
    }
}
