import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import NHIInventory
import NHIReports
import NHIScan
import NHIOutput

/// What the command line asked for.
public enum ParseResult {
    case run(CommandSpec, arguments: [String: [String]], options: [String: [String]])
    /// Help for a command or group (path of words; empty for the top level).
    case help([String])
    case version
}

/// A small table-driven parser: command words select a leaf of the command table, then options and arguments
/// are checked against that leaf's declarations. Global options may stand anywhere.
public struct CommandLineParser {
    public let commands: [CommandSpec]

    public init(commands: [CommandSpec]) { self.commands = commands }

    /// Command words that lead somewhere below `prefix` (subcommands or leaves).
    public func children(of prefix: [String]) -> [String] {
        var seen: [String] = []
        for spec in commands where spec.path.count > prefix.count && Array(spec.path.prefix(prefix.count)) == prefix {
            let word = spec.path[prefix.count]
            if !seen.contains(word) { seen.append(word) }
        }
        return seen
    }

    public func leaf(_ path: [String]) -> CommandSpec? { commands.first { $0.path == path } }

    public func parse(_ argv: [String]) throws(NHIError) -> ParseResult {
        var path: [String] = []
        var leafSpec: CommandSpec?
        var options: [String: [String]] = [:]
        var positionals: [String] = []
        var wantsHelp = false
        var onlyPositionals = false
        var i = 0

        func knownOptions() -> [OptionSpec] { GlobalOptions.all + (leafSpec?.options ?? []) }
        func commandName() -> String { (["nhi"] + path).joined(separator: " ") }

        while i < argv.count {
            let word = argv[i]
            i += 1
            if !onlyPositionals && word == "--" { onlyPositionals = true; continue }
            if !onlyPositionals && (word == "-h" || word == "--help") { wantsHelp = true; continue }
            if !onlyPositionals && word.hasPrefix("--") {
                var name = String(word.dropFirst(2))
                var inlineValue: String?
                if let eq = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                guard let spec = knownOptions().first(where: { $0.name == name }) else {
                    if leafSpec == nil && !path.isEmpty && !children(of: path).isEmpty {
                        throw .usage("unknown option '--\(Redaction.printable(name))' (give the command first: \(commandName()) <subcommand> --\(Redaction.printable(name)) ...)", command: commandName())
                    }
                    var message = "unknown option '--\(Redaction.printable(name))'"
                    if let suggestion = Suggest.nearest(name, among: knownOptions().map(\.name)) {
                        message += ". Did you mean '--\(suggestion)'?"
                    }
                    throw .usage(message, command: commandName())
                }
                if spec.name == "version" { if leafSpec == nil && path.isEmpty { return .version }; options["version"] = [] ; continue }
                if spec.isFlag {
                    guard inlineValue == nil else { throw .usage("--\(name) takes no value", command: commandName()) }
                    options[name, default: []].append("")
                    continue
                }
                let value: String
                if let inlineValue { value = inlineValue }
                else if i < argv.count { value = argv[i]; i += 1 }
                else { throw .usage("--\(name) needs a value (\(spec.synopsis))", command: commandName()) }
                if !spec.choices.isEmpty && !spec.choices.contains(value) {
                    throw .usage("--\(name) must be one of \(spec.choices.joined(separator: ", ")), not '\(Redaction.printable(value))'", command: commandName())
                }
                if options[name] != nil && !spec.repeatable && name != "format" {
                    throw .usage("--\(name) is given more than once", command: commandName())
                }
                options[name, default: []].append(value)
                continue
            }
            if !onlyPositionals && word.hasPrefix("-") && word.count > 1 && leafSpec == nil {
                throw .usage("unknown option '\(Redaction.printable(word))' (options are spelled --name)", command: commandName())
            }
            // A command word, while we are still choosing a leaf.
            if leafSpec == nil {
                if path.isEmpty && word == "help" && !onlyPositionals {
                    // `nhi help token register`
                    // The command words up to the first option (`nhi help token register --db x`).
                    let rest = argv[i...].prefix { !$0.hasPrefix("-") }
                    return .help(Array(rest))
                }
                let next = path + [word]
                if let spec = leaf(next) {
                    path = next
                    leafSpec = spec
                    continue
                }
                if !children(of: next).isEmpty {
                    path = next
                    continue
                }
                let candidates = children(of: path)
                let where_ = path.isEmpty ? "" : " for '\(commandName())'"
                var message = "unknown command '\(Redaction.printable(word))'\(where_)"
                if let suggestion = Suggest.nearest(word, among: candidates) { message += ". Did you mean '\(suggestion)'?" }
                throw .usage(message, command: commandName())
            }
            positionals.append(word)
        }

        if wantsHelp { return .help(path) }
        guard let spec = leafSpec else {
            if path.isEmpty { return .help([]) }
            throw .usage("'\(commandName())' needs a subcommand: \(children(of: path).joined(separator: ", "))", command: commandName())
        }
        if options["version"] != nil { return .version }

        // Arguments, in declared order.
        var arguments: [String: [String]] = [:]
        var rest = positionals[...]
        for argument in spec.arguments {
            if argument.variadic {
                if rest.isEmpty && !argument.optional {
                    throw .usage("missing \(argument.name) (\(argument.help))", command: commandName())
                }
                arguments[argument.name] = Array(rest)
                rest = []
            } else if let first = rest.first {
                arguments[argument.name] = [first]
                rest = rest.dropFirst()
            } else if !argument.optional {
                throw .usage("missing \(argument.name): \(Help.usageLine(spec))", command: commandName())
            }
        }
        if let extra = rest.first {
            throw .usage("unexpected argument '\(Redaction.printable(extra))'", command: commandName())
        }
        for option in spec.options where option.required && options[option.name] == nil {
            throw .usage("missing \(option.synopsis) (\(option.help.prefix(80)))", command: commandName())
        }
        if let format = options["format"]?.last {
            guard !spec.formats.isEmpty else {
                throw .usage("'\(commandName())' has no --format", command: commandName())
            }
            guard spec.formats.contains(format) else {
                throw .usage("--format must be one of \(spec.formats.joined(separator: ", ")) for '\(commandName())', not '\(Redaction.printable(format))'", command: commandName())
            }
        }
        return .run(spec, arguments: arguments, options: options)
    }
}

/// "Did you mean": the nearest name by edit distance, when it is close enough to be a typo.
