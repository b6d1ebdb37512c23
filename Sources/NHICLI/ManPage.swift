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

/// The man page (Docs/nhi.1) and the Markdown command reference (Docs/reference.md), generated from the same
/// command table as `--help`, so they cannot drift. `make man` regenerates both; a test fails when either is stale.
/// Neither carries a date: the same table always gives the same bytes.
public enum ManPage {
    package static let environment: [(String, String)] = [
        ("NHI_DB", "The store file, or a PostgreSQL URI, when --db is not given (else ./nhi.db)."),
        ("PGPASSWORD", "The PostgreSQL password when the store is a PostgreSQL URI (read by libpq, as is ~/.pgpass); never printed."),
        ("NHI_ACTOR", "The actor recorded in the audit log when --actor is not given (else the login name)."),
        ("NHI_POLICY", "The policy file when --policy is not given."),
        ("NHI_NOW", "Pins the current time (ISO 8601), for reproducible demos and tests."),
        ("NO_COLOR", "Disables colour in table output (colour is only used on a terminal)."),
        ("TMPDIR", "Where a table spools its rows past 4 MiB of cells (else /tmp), in a file unlinked as it is made; when it cannot be written the command exits 4."),
    ]

    package static let exitCodes: [(String, String)] = [
        ("0", "Success; check found nothing that fails."),
        ("1", "check, scan or audit verify found what it was asked to fail on."),
        ("2", "Usage error: the command line cannot be parsed (unknown command or flag, a missing value)."),
        ("3", "Data error: a malformed value or one that breaks a rule, a bad input file, a missing store."),
        ("4", "Store or output error: the store is unreadable, locked past the timeout, corrupt, from a newer version, or holds a value out of range; or the output could not be written (a full disk, a closed pipe)."),
    ]

    package static let description = [
        "nhi keeps an inventory of non-human identity credentials: MCP tokens and other credentials held by AI agents, recorded by identifier and never by value, with the owners and agents they belong to.",
        "It evaluates derived states (\(DerivedState.allCases.map(\.rawValue).joined(separator: ", "))) as of any instant, reports them for auditors, gates CI builds with check, and keeps every change in a hash-chained audit log.",
        "The store is one SQLite file: --db PATH, else $NHI_DB, else ./nhi.db; or a shared PostgreSQL store, given as a libpq URI (--db postgresql://analyst@db.example.com/nhi?sslmode=verify-full). Global options may be given before or after the command words.",
    ]

    // MARK: roff

    /// Text safe in a roff line: backslashes escaped, hyphens made literal minus signs (so options copy and paste).
    package static func roff(_ text: String) -> String {
        var out = ""
        for ch in text {
            switch ch {
            case "\\": out += "\\e"
            case "-": out += "\\-"
            default: out.append(ch)
            }
        }
        // A line starting with . or ' would be read as a request.
        if out.first == "." || out.first == "'" { out = "\\&" + out }
        return out
    }

    package static func bold(_ text: String) -> String { "\\fB" + roff(text) + "\\fR" }
    package static func italic(_ text: String) -> String { "\\fI" + roff(text) + "\\fR" }

    package static func optionLabel(_ option: OptionSpec) -> String {
        bold("--" + option.name) + (option.value.map { " " + italic($0) } ?? "")
    }

    package static func synopsis(_ spec: CommandSpec) -> String {
        var parts = [bold("nhi " + spec.name)]
        parts += spec.arguments.map { argument in
            let name = italic(argument.name) + (argument.variadic ? "..." : "")
            return argument.optional ? "[" + name + "]" : name
        }
        parts += spec.options.filter(\.required).map(optionLabel)
        if spec.options.contains(where: { !$0.required }) || !spec.formats.isEmpty { parts.append("[" + italic("options") + "]") }
        return parts.joined(separator: " ")
    }

    package static func optionText(_ option: OptionSpec) -> String {
        var text = option.help
        if !option.choices.isEmpty { text += " One of: \(option.choices.joined(separator: ", "))." }
        if option.required { text += " Required." }
        if option.repeatable { text += " May be repeated." }
        return text
    }

    public static func render(_ commands: [CommandSpec]) -> String {
        var l: [String] = []
        l.append(".\\\" Generated from the nhi command table by `nhi docs man` (make man). Do not edit.")
        l.append(".TH NHI 1 \"\" \"nhi \(Version.string)\" \"User Commands\"")
        l += [".SH NAME", "nhi \\- inventory of non\\-human identity credentials, with reports, a CI gate and an audit log"]
        l += [".SH SYNOPSIS", bold("nhi") + " " + italic("command") + " [" + italic("options") + "]",
              ".br", bold("nhi") + " " + bold("--help") + " | " + bold("--version")]
        l.append(".SH DESCRIPTION")
        for (i, paragraph) in description.enumerated() {
            if i > 0 { l.append(".PP") }
            l.append(roff(paragraph))
        }
        l.append(".SH GLOBAL OPTIONS")
        for option in GlobalOptions.all {
            l += [".TP", optionLabel(option), roff(option.help)]
        }
        l.append(".SH COMMANDS")
        for spec in commands {
            l += [".SS " + "\"" + roff("nhi " + spec.name) + "\"", synopsis(spec), ".PP", roff(spec.abstract)]
            if !spec.discussion.isEmpty {
                for paragraph in spec.discussion.split(separator: "\n", omittingEmptySubsequences: true) {
                    l += [".PP", roff(String(paragraph))]
                }
            }
            if !spec.arguments.isEmpty || !spec.options.isEmpty || !spec.formats.isEmpty {
                l.append(".RS")
                for argument in spec.arguments { l += [".TP", italic(argument.name), roff(argument.help)] }
                for option in spec.options { l += [".TP", optionLabel(option), roff(optionText(option))] }
                if !spec.formats.isEmpty {
                    l += [".TP", bold("--format") + " " + italic("FORMAT"),
                          roff("Output format: \(spec.formats.joined(separator: ", ")) (default: \(spec.formats[0])).")]
                }
                l.append(".RE")
            }
            if !spec.examples.isEmpty {
                l += [".PP", "Examples:", ".RS", ".nf"]
                l += spec.examples.map(roff)
                l += [".fi", ".RE"]
            }
        }
        l.append(".SH EXIT STATUS")
        for (code, text) in exitCodes { l += [".TP", bold(code), roff(text)] }
        l.append(".PP")
        l.append(roff("Errors go to standard error as \"nhi: error: ...\". A command that fails changes nothing."))
        l.append(".SH ENVIRONMENT")
        for (name, text) in environment { l += [".TP", bold(name), roff(text)] }
        l += [".SH FILES", ".TP", bold("./nhi.db"), roff("The default store (SQLite, created with mode 0600 by the first write).")]
        l += [".SH SEE ALSO", roff("sqlite3(1). The guides in the Docs/ directory of the nhi sources: getting started, auditor, CI, framework controls.")]
        return l.joined(separator: "\n") + "\n"
    }

    // MARK: Markdown reference

    package static func cell(_ text: String) -> String { text.replacingAll("|", with: "\\|") }

    public static func reference(_ commands: [CommandSpec]) -> String {
        var l: [String] = []
        l.append("# nhi command reference")
        l.append("")
        l.append("<!-- Generated from the command table by `nhi docs reference` (make man). Do not edit by hand. -->")
        l.append("")
        l += description + [""]
        l.append("## Global options")
        l.append("")
        l += ["| Option | Meaning |", "| --- | --- |"]
        for option in GlobalOptions.all {
            l.append("| `--\(option.name)\(option.value.map { " \($0)" } ?? "")` | \(cell(option.help)) |")
        }
        l.append("")
        l.append("## Commands")
        l.append("")
        for spec in commands { l.append("- [`nhi \(spec.name)`](#\(anchor("nhi " + spec.name))): \(spec.abstract)") }
        for spec in commands {
            l += ["", "### nhi \(spec.name)", "", spec.abstract]
            if !spec.discussion.isEmpty { l += ["", spec.discussion] }
            l += ["", "```", Help.usageLine(spec), "```"]
            if !spec.arguments.isEmpty || !spec.options.isEmpty || !spec.formats.isEmpty {
                l += ["", "| Argument or option | Meaning |", "| --- | --- |"]
                for argument in spec.arguments {
                    l.append("| `\(argument.name)\(argument.variadic ? "..." : "")` | \(cell(argument.help))\(argument.optional ? " Optional." : "") |")
                }
                for option in spec.options {
                    l.append("| `--\(option.name)\(option.value.map { " \($0)" } ?? "")` | \(cell(optionText(option))) |")
                }
                if !spec.formats.isEmpty {
                    l.append("| `--format FORMAT` | \(cell("Output format: \(spec.formats.joined(separator: ", ")) (default: \(spec.formats[0])).")) |")
                }
            }
            if !spec.examples.isEmpty {
                l += ["", "Examples:", "", "```sh"] + spec.examples + ["```"]
            }
        }
        l += ["", "## Exit codes", "", "| Code | Meaning |", "| --- | --- |"]
        for (code, text) in exitCodes { l.append("| \(code) | \(cell(text)) |") }
        l += ["", "## Environment", "", "| Variable | Meaning |", "| --- | --- |"]
        for (name, text) in environment { l.append("| `\(name)` | \(cell(text)) |") }
        return l.joined(separator: "\n") + "\n"
    }

    /// GitHub's heading anchor: lower case, spaces to hyphens, punctuation other than - and _ dropped.
    package static func anchor(_ heading: String) -> String {
        String(heading.lowercased().compactMap { ch -> Character? in
            if ch == " " { return "-" }
            if ch.isLetter || ch.isNumber || ch == "-" || ch == "_" { return ch }
            return nil
        })
    }
}
