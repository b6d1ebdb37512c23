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

/// `nhi completion bash|zsh|fish` and `nhi docs man|reference`: text generated from the command table itself.
public enum CompletionCommands {
    public static var all: [CommandSpec] { completion + docs }

    package static let shells = ["bash", "zsh", "fish"]

    /// How to load the script for this session, and where to save it for every session.
    package static let howToLoad = [
        "bash": ("source <(nhi completion bash)", "nhi completion bash > /etc/bash_completion.d/nhi"),
        "zsh": ("autoload -U compinit && compinit; source <(nhi completion zsh)", "nhi completion zsh > \"${fpath[1]}/_nhi\""),
        "fish": ("nhi completion fish | source", "nhi completion fish > ~/.config/fish/completions/nhi.fish"),
    ]

    package static var completion: [CommandSpec] {
        shells.map { shell in
            CommandSpec(["completion", shell], abstract: "Print the \(shell) completion script (commands, flags, formats, states).",
                        discussion: "Completes command words, flags, and known values: each command's formats, enumerated flag values and state names. Load it in the current shell with: \(howToLoad[shell]!.0)",
                        examples: [howToLoad[shell]!.1]) { inv in
                inv.out.write(Completion.script(for: shell, commands: CLI.commands)!)
                return .success
            }
        }
    }

    package static let docs: [CommandSpec] = [
        CommandSpec(["docs", "man"], abstract: "Print the nhi(1) man page (roff), generated from the command table.",
                    examples: ["nhi docs man | man -l -", "nhi docs man > Docs/nhi.1"]) { inv in
            inv.out.write(ManPage.render(CLI.commands))
            return .success
        },
        CommandSpec(["docs", "reference"], abstract: "Print the Markdown command reference, generated from the command table.",
                    examples: ["nhi docs reference > Docs/reference.md"]) { inv in
            inv.out.write(ManPage.reference(CLI.commands))
            return .success
        },
    ]
}
