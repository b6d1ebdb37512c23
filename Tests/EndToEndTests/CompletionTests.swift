import Foundation
import Testing

private func installed(_ program: String) -> Bool {
    ["/usr/bin", "/bin", "/usr/local/bin"].contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(program)") }
}

/// Runs `program -c script` with the built nhi first on PATH.
private func shell(_ program: String, _ arguments: [String]) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [program] + arguments
    var env = ProcessInfo.processInfo.environment
    let binDir = URL(fileURLWithPath: NHIBinary.path).deletingLastPathComponent().path
    env["PATH"] = binDir + ":" + (env["PATH"] ?? "/usr/bin:/bin")
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = readAll(out.fileHandleForReading)
    let errData = readAll(err.fileHandleForReading)
    process.waitUntilExit()
    return RunResult(code: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                     err: String(decoding: errData, as: UTF8.self))
}

@Suite struct CompletionTests {
    @Test func bashScriptRegistersAndCompletes() throws {
        let result = try shell("bash", ["-c", """
            source <(nhi completion bash) || exit 9
            complete -p nhi
            t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _nhi; echo "${COMPREPLY[*]}"; }
            t nhi tok
            t nhi token ''
            t nhi token list --format ''
            t nhi --db x.db owner list --status ''
            t nhi token register x --sec
            t nhi completion ''
            """])
        #expect(result.code == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "complete -F _nhi nhi")
        #expect(lines.dropFirst().first == "token")
        #expect(lines.count > 6)
        guard lines.count > 6 else { return }
        #expect(lines[2].split(separator: " ").contains("register"))
        #expect(lines[2].split(separator: " ").contains("revoke"))
        #expect(lines[3] == "table json csv ndjson")
        #expect(lines[4] == "active departed")
        #expect(lines[5] == "--secret-stdin")
        #expect(lines[6] == "bash zsh fish")
    }

    @Test(.enabled(if: installed("zsh"), "zsh is not installed (apt-get install -y zsh): zsh completion not tested"))
    func zshScriptRegistersAndCompletes() throws {
        // compadd and _files only work inside the completion system; stubs record what _nhi offers.
        let result = try shell("zsh", ["-fc", """
            autoload -U compinit && compinit -u
            source <(nhi completion zsh) || exit 9
            echo "registered: ${_comps[nhi]}"
            # Like the real compadd, the stub keeps what matches the word being completed.
            compadd() { [[ "$1" == "--" ]] && shift; local w; local -a kept; for w in "$@"; do [[ "$w" == "${words[CURRENT]}"* ]] && kept+=("$w"); done; print -r -- "offered: ${kept[*]}"; }
            _files() { print -r -- "offered: <files>"; }
            words=(nhi tok); CURRENT=2; _nhi
            words=(nhi token list --format ''); CURRENT=5; _nhi
            words=(nhi --db x.db owner list --st); CURRENT=6; _nhi
            words=(nhi --policy ''); CURRENT=3; _nhi
            """])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out == """
            registered: _nhi
            offered: token
            offered: table json csv ndjson
            offered: --status
            offered: <files>

            """)
    }

    @Test(.enabled(if: installed("fish"), "fish is not installed (apt-get install -y fish): fish completion not tested"))
    func fishScriptCompletes() throws {
        let result = try shell("fish", ["-c", """
            nhi completion fish | source
            complete -C'nhi tok'
            echo ===
            complete -C'nhi token list --format '
            echo ===
            complete -C'nhi --db x.db owner list --st'
            """])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out == "token\n===\ncsv\njson\nndjson\ntable\n===\n--status\n")
    }

    @Test func unknownShellIsAUsageError() throws {
        let sandbox = Sandbox()
        let result = try sandbox.run(["completion", "powershell"])
        #expect(result.code == 2)
        #expect(result.err.contains("unknown command 'powershell'"))
    }

    @Test func docsCommandsPrintTheCheckedInFiles() throws {
        let sandbox = Sandbox()
        let man = try sandbox.ok(["docs", "man"])
        #expect(man.out.hasPrefix(".\\\" Generated from the nhi command table"))
        #expect(man.out.contains(".SH EXIT STATUS"))
        let reference = try sandbox.ok(["docs", "reference"])
        #expect(reference.out.hasPrefix("# nhi command reference\n"))
        #expect(reference.out.contains("### nhi token register\n"))
    }
}
