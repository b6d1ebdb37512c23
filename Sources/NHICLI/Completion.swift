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

/// Shell completion scripts generated from the command table, so they complete exactly what the parser accepts.
/// The three scripts share one shape: walk the words typed so far (skipping options and their values) to find the
/// command path, then offer subcommand words, option names, or an option's known values (its choices, the
/// command's formats, state names) or file names.
public enum Completion {
    /// What completion needs to know, derived from the command table.
    package struct Model {
        /// Command path ("" for the top level, "token" for a group) → the words that may follow it.
        package var children: [(path: String, words: [String])] = []
        /// Leaf path → every option it accepts, spelled `--name`, globals included.
        package var options: [(path: String, names: [String])] = []
        /// Leaf path → the options that take a value (so the word after them is not a command word).
        package var valueOptions: [(path: String, names: [String])] = []
        /// (leaf path, `--option`) → the values to offer; `list` when the option takes a comma-separated list.
        package var values: [(path: String, option: String, values: [String], list: Bool)] = []
        /// (leaf path, `--option`) pairs whose value is a file name.
        package var fileOptions: [(path: String, option: String)] = []
        /// Leaf paths whose positional arguments are file names.
        package var fileArguments: [String] = []
        package var globalValueOptions: [String] = []
        package var globalOptions: [String] = []
    }

    /// State names offered for options that take states (`--fail-on`).
    package static var stateNames: [String] { DerivedState.allCases.map(\.rawValue) + [Controls.policyViolation] }

    package static func isFilePlaceholder(_ placeholder: String) -> Bool {
        ["FILE", "PATH", "DIR", "OUT"].contains { placeholder.uppercased().contains($0) }
    }

    package static func takesStates(_ option: OptionSpec) -> Bool {
        option.name == "fail-on" || (option.value?.uppercased().contains("STATE") ?? false)
    }

    package static func model(_ commands: [CommandSpec]) -> Model {
        var model = Model()
        let parser = CommandLineParser(commands: commands)
        var groups: [[String]] = [[]]
        for spec in commands {
            for length in 1..<spec.path.count {
                let prefix = Array(spec.path.prefix(length))
                if !groups.contains(prefix) { groups.append(prefix) }
            }
        }
        for group in groups {
            var words = parser.children(of: group)
            if group.isEmpty { words.append("help") }
            model.children.append((group.joined(separator: " "), words))
        }
        let globals = GlobalOptions.all.filter { $0.name != "format" }
        model.globalOptions = globals.map { "--" + $0.name }
        model.globalValueOptions = GlobalOptions.all.filter { !$0.isFlag }.map { "--" + $0.name }
        for spec in commands {
            let path = spec.name
            var names = spec.options.map { "--" + $0.name }
            if !spec.formats.isEmpty { names.append("--format") }
            names += globals.filter { $0.name != "version" }.map { "--" + $0.name }
            model.options.append((path, names))
            model.valueOptions.append((path, spec.options.filter { !$0.isFlag }.map { "--" + $0.name } + model.globalValueOptions))
            if !spec.formats.isEmpty { model.values.append((path, "--format", spec.formats, false)) }
            for option in spec.options + globals where !option.isFlag {
                if !option.choices.isEmpty {
                    model.values.append((path, "--" + option.name, option.choices, false))
                } else if takesStates(option) {
                    model.values.append((path, "--" + option.name, stateNames, true))
                } else if let placeholder = option.value, isFilePlaceholder(placeholder) {
                    model.fileOptions.append((path, "--" + option.name))
                }
            }
            if spec.arguments.contains(where: { isFilePlaceholder($0.name) }) { model.fileArguments.append(path) }
        }
        return model
    }

    public static func script(for shell: String, commands: [CommandSpec]) -> String? {
        switch shell {
        case "bash": return bash(commands)
        case "zsh": return zsh(commands)
        case "fish": return fish(commands)
        default: return nil
        }
    }

    // MARK: POSIX-shell data functions shared by bash and zsh

    /// A single-quoted shell word.
    package static func quoted(_ text: String) -> String { "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'" }

    package static func shCase(_ name: String, _ rows: [(key: String, value: String)], fallback: String = "") -> String {
        var lines = ["_nhi_\(name)() {", "    case \"$1\" in"]
        for row in rows { lines.append("        \(quoted(row.key))) echo \(quoted(row.value)) ;;") }
        lines.append("        *) echo \(quoted(fallback)) ;;")
        lines += ["    esac", "}"]
        return lines.joined(separator: "\n")
    }

    package static func shData(_ m: Model) -> String {
        [
            shCase("children", m.children.map { ($0.path, $0.words.joined(separator: " ")) }),
            shCase("options", m.options.map { ($0.path, $0.names.joined(separator: " ")) },
                   fallback: m.globalOptions.joined(separator: " ")),
            shCase("value_options", m.valueOptions.map { ($0.path, $0.names.joined(separator: " ")) },
                   fallback: m.globalValueOptions.joined(separator: " ")),
            // Key "path|--option"; a leading "," marks a comma-separated list.
            shCase("values", m.values.map { ("\($0.path)|\($0.option)", ($0.list ? "," : "") + $0.values.joined(separator: " ")) }),
            shCase("file_value", m.fileOptions.map { ("\($0.path)|\($0.option)", "yes") }
                   + [("*|--db", "yes"), ("*|--policy", "yes")].map { (key: $0.0, value: $0.1) }),
            shCase("file_arguments", m.fileArguments.map { ($0, "yes") }),
        ].joined(separator: "\n")
    }

    /// Walks the words before the cursor: sets `cmd` to the command path, skipping options and their values.
    package static let shWalk = """
        _nhi_path() {
            # $@: the words after "nhi" and before the one being completed
            cmd=""
            local w skip=0
            for w in "$@"; do
                if [ "$skip" = 1 ]; then skip=0; continue; fi
                case "$w" in
                    --*=*) ;;
                    --*) case " $(_nhi_value_options "$cmd") " in *" $w "*) skip=1 ;; esac ;;
                    help) [ -n "$cmd" ] || continue ;;
                    *) case " $(_nhi_children "$cmd") " in *" $w "*) cmd="${cmd:+$cmd }$w" ;; esac ;;
                esac
            done
        }

        # Prints the candidates for the word being completed, one per line; "__files__" asks the shell for file names.
        _nhi_candidates() {
            # $1: the previous word, $2: the current word; `cmd` is set by _nhi_path
            local prev="$1" cur="$2" values item prefix
            case " $(_nhi_value_options "$cmd") " in
                *" $prev "*)
                    values="$(_nhi_values "$cmd|$prev")"
                    if [ -n "$values" ]; then
                        case "$values" in
                            ,*) prefix=""; case "$cur" in *,*) prefix="${cur%,*},";; esac
                                for item in ${values#,}; do echo "$prefix$item"; done ;;
                            *) for item in $values; do echo "$item"; done ;;
                        esac
                    elif [ -n "$(_nhi_file_value "$cmd|$prev")" ] || [ -n "$(_nhi_file_value "*|$prev")" ]; then
                        echo "__files__"
                    fi
                    return ;;
            esac
            case "$cur" in
                -*) for item in $(_nhi_options "$cmd"); do echo "$item"; done ;;
                *) for item in $(_nhi_children "$cmd"); do echo "$item"; done
                   [ -n "$(_nhi_file_arguments "$cmd")" ] && echo "__files__" ;;
            esac
        }
        """

    package static func header(_ shell: String) -> String {
        "# \(shell) completion for nhi \(Version.string), generated from its command table by `nhi completion \(shell)`."
    }

    package static func bash(_ commands: [CommandSpec]) -> String {
        let m = model(commands)
        return """
            \(header("bash"))
            # Load it with: source <(nhi completion bash)   (or save it as /etc/bash_completion.d/nhi)
            \(shData(m))
            \(shWalk)

            _nhi() {
                local cur="${COMP_WORDS[COMP_CWORD]}" prev="" cmd="" line
                [ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"
                _nhi_path "${COMP_WORDS[@]:1:COMP_CWORD-1}"
                COMPREPLY=()
                local files=0
                while IFS= read -r line; do
                    [ -z "$line" ] && continue
                    if [ "$line" = "__files__" ]; then files=1; continue; fi
                    case "$line" in "$cur"*) COMPREPLY+=("$line") ;; esac
                done <<< "$(_nhi_candidates "$prev" "$cur")"
                if [ "$files" = 1 ]; then
                    while IFS= read -r line; do [ -n "$line" ] && COMPREPLY+=("$line"); done <<< "$(compgen -f -- "$cur")"
                fi
            }
            complete -F _nhi nhi

            """
    }

    package static func zsh(_ commands: [CommandSpec]) -> String {
        let m = model(commands)
        // `cmd`, not `path`: in zsh `path` is tied to $PATH.
        return """
            #compdef nhi
            \(header("zsh"))
            # Load it with: source <(nhi completion zsh)   (or save it as _nhi in a directory on $fpath)
            \(shData(m))
            \(shWalk)

            _nhi() {
                emulate -L zsh
                setopt sh_word_split
                local cur="${words[CURRENT]}" prev="${words[CURRENT-1]}" cmd="" line
                local -a candidates
                local files=0
                _nhi_path "${(@)words[2,CURRENT-1]}"
                for line in ${(f)"$(_nhi_candidates "$prev" "$cur")"}; do
                    if [[ "$line" == "__files__" ]]; then files=1; else candidates+=("$line"); fi
                done
                (( ${#candidates} )) && compadd -- "${candidates[@]}"
                (( files )) && _files
                return 0
            }

            if [[ "$funcstack[1]" == "_nhi" ]]; then _nhi "$@"; else compdef _nhi nhi; fi

            """
    }

    // MARK: fish

    package static func fishSwitch(_ name: String, _ rows: [(key: String, value: String)], fallback: String = "") -> String {
        var lines = ["function __nhi_\(name)", "    switch \"$argv[1]\""]
        for row in rows { lines += ["        case \(quotedFish(row.key))", "            echo \(quotedFish(row.value))"] }
        lines += ["        case '*'", "            echo \(quotedFish(fallback))", "    end", "end"]
        return lines.joined(separator: "\n")
    }

    package static func quotedFish(_ text: String) -> String {
        // fish single quotes: only \\ and \' are escapes. `switch` cases are globs, so `*` and `?` in keys are escaped.
        "'" + text.replacingAll("\\", with: "\\\\").replacingAll("'", with: "\\'") + "'"
    }

    package static func fish(_ commands: [CommandSpec]) -> String {
        let m = model(commands)
        let data = [
            fishSwitch("children", m.children.map { ($0.path, $0.words.joined(separator: " ")) }),
            fishSwitch("options", m.options.map { ($0.path, $0.names.joined(separator: " ")) },
                       fallback: m.globalOptions.joined(separator: " ")),
            fishSwitch("value_options", m.valueOptions.map { ($0.path, $0.names.joined(separator: " ")) },
                       fallback: m.globalValueOptions.joined(separator: " ")),
            fishSwitch("values", m.values.map { ("\($0.path)|\($0.option)", ($0.list ? "," : "") + $0.values.joined(separator: " ")) }),
            fishSwitch("file_value", m.fileOptions.map { ("\($0.path)|\($0.option)", "yes") }),
            fishSwitch("file_arguments", m.fileArguments.map { ($0, "yes") }),
        ].joined(separator: "\n")
        return """
            \(header("fish"))
            # Load it with: nhi completion fish | source   (or save it as ~/.config/fish/completions/nhi.fish)
            \(data)

            function __nhi_complete
                set -l words (commandline -opc)
                set -l cur (commandline -ct)
                set -e words[1]
                set -l cmd ''
                set -l skip 0
                for w in $words
                    if test $skip = 1
                        set skip 0
                        continue
                    end
                    if string match -q -- '--*=*' $w
                        continue
                    else if string match -q -- '--*' $w
                        if contains -- $w (string split ' ' -- (__nhi_value_options $cmd))
                            set skip 1
                        end
                    else if test "$w" = help -a -z "$cmd"
                        continue
                    else if contains -- $w (string split ' ' -- (__nhi_children $cmd))
                        set cmd (string trim -- "$cmd $w")
                    end
                end
                set -l prev ''
                if test (count $words) -gt 0
                    set prev $words[-1]
                end
                if test -n "$prev"; and contains -- $prev (string split ' ' -- (__nhi_value_options $cmd))
                    set -l values (__nhi_values "$cmd|$prev")
                    if test -n "$values"
                        if string match -q -- ',*' $values
                            set -l prefix ''
                            if string match -q -- '*,*' $cur
                                set prefix (string replace -r ',[^,]*$' ',' -- $cur)
                            end
                            for item in (string split ' ' -- (string sub -s 2 -- $values))
                                echo "$prefix$item"
                            end
                        else
                            string split ' ' -- $values
                        end
                    else
                        set -l file (__nhi_file_value "$cmd|$prev")
                        if test -n "$file"; or contains -- $prev --db --policy
                            __fish_complete_path $cur
                        end
                    end
                    return
                end
                if string match -q -- '-*' $cur
                    string split ' ' -- (__nhi_options $cmd)
                else
                    set -l children (__nhi_children $cmd)
                    if test -n "$children"
                        string split ' ' -- $children
                    end
                    set -l file (__nhi_file_arguments $cmd)
                    if test -n "$file"
                        __fish_complete_path $cur
                    end
                end
            end

            complete -c nhi -f -a '(__nhi_complete)'

            """
    }
}
