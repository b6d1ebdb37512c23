import Foundation
import Testing

/// Progress goes to stderr only when it is a terminal: `script` gives the command a pseudo-terminal.
@Suite struct ProgressEndToEndTests {
    func seeded() throws -> (Sandbox, String) {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        #expect(try sandbox.register("gh-1").code == 0)
        let log = sandbox.path("uses.ndjson")
        let lines = (0..<3).map { #"{"token":"gh-1","agent":"bot","at":"2026-05-2\#($0)T10:00:00Z","tool":null}"# }
        try (lines.joined(separator: "\n") + "\n").write(toFile: log, atomically: true, encoding: .utf8)
        return (sandbox, log)
    }

    @Test func usageImportIsQuietWhenStderrIsNotATerminal() throws {
        let (sandbox, log) = try seeded()
        let result = try sandbox.ok(["usage", "import", log])
        #expect(result.err == "")
        #expect(result.out.hasPrefix("imported 3 usage records for 1 token"))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "script(1) is not installed: no pseudo-terminal to test with"))
    func usageImportShowsProgressOnATerminal() throws {
        let (sandbox, log) = try seeded()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        let command = [NHIBinary.path, "--db", sandbox.db, "usage", "import", log].map { "'\($0)'" }.joined(separator: " ")
        process.arguments = ["-qec", command, "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env.merge(sandbox.environment) { $1 }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = readAll(out.fileHandleForReading)
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("\r\u{1B}[Kusage import: 3 lines ("), "\(text.debugDescription)")
        #expect(text.contains("imported 3 usage records for 1 token"))
    }
}

@Suite struct ScanProgressTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "script(1) is not installed: no pseudo-terminal to test with"))
    func scanShowsFilesOnATerminalAndNothingInAPipe() throws {
        let sandbox = Sandbox()
        let dir = sandbox.path("configs")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for i in 0..<3 {
            try FileManager.default.createDirectory(atPath: "\(dir)/p\(i)", withIntermediateDirectories: true)
            try #"{"mcpServers": {"s": {"command": "x", "env": {"TOKEN": "${TOKEN}"}}}}"#
                .write(toFile: "\(dir)/p\(i)/.mcp.json", atomically: true, encoding: .utf8)
        }
        let piped = try sandbox.run(["scan", dir])
        #expect(!piped.err.contains("scan: 3 files"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "'\(NHIBinary.path)' --db '\(sandbox.db)' scan '\(dir)'", "/dev/null"]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: readAll(out.fileHandleForReading), as: UTF8.self)
        process.waitUntilExit()
        #expect(text.contains("\r\u{1B}[Kscan: 3 files ("), "\(text.debugDescription)")
    }
}

@Suite struct ImportProgressTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "script(1) is not installed: no pseudo-terminal to test with"))
    func importShowsRecordsOnATerminalAndNothingInAPipe() throws {
        let sandbox = Sandbox()
        try sandbox.seedBasics()
        #expect(try sandbox.register("gh-1").code == 0)
        let file = sandbox.path("inventory.ndjson")
        try sandbox.ok(["export", "--format", "ndjson"]).out.write(toFile: file, atomically: true, encoding: .utf8)
        let piped = try sandbox.run(["import", file, "--db", sandbox.path("copy.db")])
        #expect(piped.code == 0, "\(piped.err)")
        #expect(piped.err == "")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "'\(NHIBinary.path)' --db '\(sandbox.path("tty.db"))' import '\(file)'", "/dev/null"]
        var env = ProcessInfo.processInfo.environment
        env.merge(sandbox.environment) { $1 }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: readAll(out.fileHandleForReading), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("\r\u{1B}[Kimport: 4 records ("), "\(text.debugDescription)")
    }
}
