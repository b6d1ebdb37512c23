import Foundation
import Testing
import NHIBasics

/// Runs the built `nhi` binary (NHI_BIN, set by `make test`; else the debug build next to the sources).
struct NHIBinary {
    static let path: String = {
        if let bin = ProcessInfo.processInfo.environment["NHI_BIN"], !bin.isEmpty { return bin }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/nhi").path
    }()
}

/// Everything a child writes to the pipe `handle` reads, until end of file. read(2) again after EINTR: Foundation's
/// `readDataToEndOfFile` traps (`try!` inside) when a signal interrupts its read, and once crashed a test run.
func readAll(_ handle: FileHandle) -> Data {
    switch FileText.readAll(handle.fileDescriptor) {
    case .success(let bytes): return Data(bytes)
    case .failure(let failure): fatalError("reading a child's output: \(failure)")
    }
}

/// Holds what the stderr reader thread collected; the DispatchGroup orders the write before the read.
private final class DataBox: @unchecked Sendable {
    var data = Data()
}

struct RunResult {
    let code: Int32
    let out: String
    let err: String
}

/// A temporary directory holding one store; removed when the test's scope ends.
/// Under `.bothEngines` on PostgreSQL, the store is a fresh schema of the test cluster instead of `nhi.db`.
final class Sandbox {
    let dir: URL
    let engine: TestEngine
    /// The PostgreSQL schema holding this sandbox's store (nil on SQLite).
    let schema: PostgresSandboxSchema?
    var db: String { schema?.uri ?? dir.appendingPathComponent("nhi.db").path }
    /// Pinned clock and actor so outputs are reproducible.
    var environment: [String: String] = ["NHI_NOW": "2026-06-01T00:00:00Z", "NHI_ACTOR": "tester"]

    init(label: String = #function, engine: TestEngine = TestEngine.current) {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("nhi-e2e-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        self.engine = engine
        var schema: PostgresSandboxSchema?
        if engine == .postgres {
            do { schema = try PostgresSandboxSchema(label: label) } catch {
                Issue.record("no PostgreSQL schema for the test: \(error)")
            }
        }
        self.schema = schema
    }

    deinit {
        try? FileManager.default.removeItem(at: dir)
        schema?.drop()
    }

    /// Runs SQL against the store, whichever the engine; rows as the sqlite3 shell prints them.
    func sql(_ statement: String) throws -> String { try Sandbox.sql(db: db, statement) }

    /// `sql` for a store given by its path or URI.
    static func sql(db: String, _ statement: String) throws -> String {
        if db.hasPrefix("postgresql://") { return try PostgresSandboxSchema.query(uri: db, statement) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", db, statement]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = readAll(pipe.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// Runs `nhi ARGS --db <store>` (unless the args name their own --db).
    @discardableResult
    func run(_ args: [String], stdin: String? = nil, env extra: [String: String] = [:], useDB: Bool = true) throws -> RunResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: NHIBinary.path)
        process.arguments = (useDB && !args.contains("--db") ? ["--db", db] : []) + args
        var env = ProcessInfo.processInfo.environment
        for key in ["NHI_DB", "NHI_POLICY", "NHI_ACTOR", "NHI_NOW", "NO_COLOR"] { env[key] = nil }
        // Never the real home: `nhi scan` without PATH reads the home's client configs.
        for key in ["XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "CODEX_HOME", "COPILOT_HOME", "APPDATA", "NHI_HOMES"] { env[key] = nil }
        env["HOME"] = dir.path
        env.merge(environment) { $1 }
        env.merge(extra) { $1 }
        process.environment = env
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
        try inPipe.fileHandleForWriting.close()
        return finish(process, out: outPipe, err: errPipe)
    }

    /// Runs a command that must succeed; records an issue with its stderr otherwise.
    @discardableResult
    func ok(_ args: [String], stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> RunResult {
        let result = try run(args, stdin: stdin)
        #expect(result.code == 0, "nhi \(args.joined(separator: " ")) failed on \(engine.rawValue): \(result.err)", sourceLocation: sourceLocation)
        return result
    }

    /// The store's content, for "a failed command changed nothing" assertions (every table, every row).
    func contentHash() throws -> String {
        if let schema { return try schema.dump() }
        guard FileManager.default.fileExists(atPath: db) else { return "<no store>" }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", db, ".dump"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = readAll(pipe.fileHandleForReading)
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A store of `tokens` generated tokens with their owners, agents and uses (scripts/gen-inventory.py, the bench's
    /// generator, through the binary under test), its states built around 2026-06-01.
    func generate(tokens: Int) throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root.appendingPathComponent("scripts/gen-inventory.py").path, "--tokens", String(tokens),
                       "--db", db, "--nhi", NHIBinary.path]
        p.environment = ProcessInfo.processInfo.environment.merging(["NHI_NOW": "2026-06-01T00:00:00Z"]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "scripts/gen-inventory.py --tokens \(tokens)")
    }

    /// A small inventory: owners alice (active) and bob, agent bot owned by alice.
    func seedBasics() throws {
        try ok(["owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com"])
        try ok(["owner", "add", "bob", "--name", "Bob Ruiz", "--email", "bob@example.com"])
        try ok(["agent", "add", "bot", "--system", "github", "--owner", "alice"])
    }

    func register(_ id: String, _ extra: [String] = [], stdin: String? = nil) throws -> RunResult {
        try run(["token", "register", id, "--owner", "alice", "--purpose", "test", "--system", "github",
                 "--agent", "bot", "--expires", "2026-12-31"] + extra, stdin: stdin)
    }
}

func jsonArray(_ text: String) throws -> [[String: Any]] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(value as? [[String: Any]])
}

func jsonObject(_ text: String) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(value as? [String: Any])
}

/// Runs a program other than through a Sandbox (a shell script, a tool from PATH via /usr/bin/env, nhi in another
/// working directory) to completion: stdin from /dev/null, both pipes read before waiting.
func runProgram(_ path: String, _ arguments: [String], cwd: String? = nil, env: [String: String]? = nil) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if let env { process.environment = env }
    let outPipe = Pipe(), errPipe = Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return finish(process, out: outPipe, err: errPipe)
}

/// Reads both pipes of a started process before waiting (so a large output cannot block the child), then waits.
func finish(_ process: Process, out outPipe: Pipe, err errPipe: Pipe) -> RunResult {
    let errBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.data = readAll(errPipe.fileHandleForReading); group.leave() }
    let outData = readAll(outPipe.fileHandleForReading)
    group.wait()
    process.waitUntilExit()
    return RunResult(code: process.terminationStatus, out: String(decoding: outData, as: UTF8.self),
                     err: String(decoding: errBox.data, as: UTF8.self))
}

/// `make demo`'s script with the built nhi, its store at `db`.
func runDemo(db: String) throws -> RunResult {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var env = ProcessInfo.processInfo.environment
    for key in ["NHI_DB", "NHI_POLICY", "NHI_ACTOR", "NHI_NOW"] { env[key] = nil }
    env["NHI"] = NHIBinary.path
    env["DEMO_DB"] = db
    return try runProgram("/bin/sh", [root.appendingPathComponent("scripts/demo.sh").path], env: env)
}
