import Foundation
import NHIPostgres
import Testing

/// A throwaway PostgreSQL cluster for the tests, one per test process: Debian's `initdb` and `pg_ctl` from
/// /usr/lib/postgresql/*/bin, a temporary directory owned by the `postgres` OS user (initdb refuses root), a
/// server listening on a Unix socket in that directory only (no TCP), and a database `nhitest`.
///
/// Stopping is guaranteed three ways: the `.postgresCluster` suite trait stops it (`pg_ctl stop -m immediate`)
/// and removes the directory when the suite ends, passed or failed; a detached watchdog shell does the same when
/// the test process dies without getting there (a crash, SIGKILL, Ctrl-C); and the next start sweeps directories
/// whose owning process is gone.
///
/// Environment: `NHI_TEST_POSTGRES_URI` uses that server instead of starting one (each test works in its own
/// schema); `NHI_POSTGRES_BIN` names the directory of initdb and pg_ctl (other systems); `NHI_REQUIRE_POSTGRES=1` turns "skipped, no PostgreSQL" into a failure (for CI).
final class PostgresCluster: Sendable {
    /// `postgresql:///nhitest?host=/tmp/nhi-pg-XXXXXX&user=postgres`.
    let uri: String
    let directory: String?
    private let tools: Tools?

    struct Tools: Sendable {
        let bin: String  // /usr/lib/postgresql/15/bin
        let runAs: [String]  // ["/usr/sbin/runuser", "-u", "postgres", "--"] when root, else []
        let owner: (uid: uid_t, gid: gid_t)?
    }

    enum Availability: Sendable {
        case external(uri: String)
        case local(Tools)
        case unavailable(reason: String)
    }

    /// The cluster of the running suite (set by the `.postgresCluster` trait), or why there is none.
    @TaskLocal static var current: Result<PostgresCluster, ClusterError>?

    struct ClusterError: Error, CustomStringConvertible {
        let description: String
    }

    // MARK: Availability (computed once; prints the one line that says the tests are skipped, and why)

    static let availability: Availability = {
        let availability = locate()
        if case .unavailable(let reason) = availability {
            let line = required
                ? "PostgreSQL tests will fail: NHI_REQUIRE_POSTGRES is set but \(reason)"
                : "PostgreSQL tests skipped: \(reason)"
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
        return availability
    }()

    static let required = ProcessInfo.processInfo.environment["NHI_REQUIRE_POSTGRES"].map { !$0.isEmpty && $0 != "0" }
        ?? false

    /// Whether the PostgreSQL suites run: a server can be had, or NHI_REQUIRE_POSTGRES says they must (and fail).
    static var enabled: Bool {
        if case .unavailable = availability { return required }
        return true
    }

    private static func locate() -> Availability {
        if let uri = ProcessInfo.processInfo.environment["NHI_TEST_POSTGRES_URI"], !uri.isEmpty {
            return .external(uri: uri)
        }
        let fm = FileManager.default
        let needed = ["initdb", "pg_ctl", "postgres"]
        if let bin = ProcessInfo.processInfo.environment["NHI_POSTGRES_BIN"], !bin.isEmpty {
            guard needed.allSatisfy({ fm.isExecutableFile(atPath: "\(bin)/\($0)") }) else {
                return .unavailable(reason: "NHI_POSTGRES_BIN=\(bin) lacks initdb, pg_ctl or postgres")
            }
            return tools(bin)
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        guard let bin = versions.map({ "\(root)/\($0)/bin" }).first(where: { dir in
            needed.allSatisfy { fm.isExecutableFile(atPath: "\(dir)/\($0)") }
        }) else {
            return .unavailable(reason: "no initdb/pg_ctl under \(root)/*/bin "
                + "(install with: sudo apt-get install -y postgresql, or run make deps)")
        }
        return tools(bin)
    }

    private static func tools(_ bin: String) -> Availability {
        let fm = FileManager.default
        guard getuid() == 0 else { return .local(Tools(bin: bin, runAs: [], owner: nil)) }
        // initdb and postgres refuse to run as root: run them as the postgres OS user.
        guard let account = getpwnam("postgres") else {
            return .unavailable(reason: "running as root and there is no 'postgres' OS user to run initdb as")
        }
        guard let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first(where: fm.isExecutableFile(atPath:)) else {
            return .unavailable(reason: "running as root and runuser (util-linux) is missing")
        }
        return .local(Tools(bin: bin, runAs: [runuser, "-u", "postgres", "--"],
                            owner: (account.pointee.pw_uid, account.pointee.pw_gid)))
    }

    private init(uri: String, directory: String?, tools: Tools?) {
        self.uri = uri
        self.directory = directory
        self.tools = tools
    }

    // MARK: Start and stop

    /// /tmp, not $TMPDIR: the postgres user must reach it, and a socket path has at most 107 bytes.
    static let parent = "/tmp"
    static let directoryPrefix = "nhi-pg-"

    static func start() throws(ClusterError) -> PostgresCluster {
        switch availability {
        case .unavailable(let reason):
            throw ClusterError(description: "PostgreSQL is required (NHI_REQUIRE_POSTGRES) but \(reason)")
        case .external(let uri):
            return PostgresCluster(uri: uri, directory: nil, tools: nil)
        case .local(let tools):
            do {
                return try startLocal(tools)
            } catch let error as ClusterError {
                throw error
            } catch {
                throw ClusterError(description: "cannot start the PostgreSQL test cluster: \(error)")
            }
        }
    }

    private static func startLocal(_ tools: Tools) throws -> PostgresCluster {
        let clock = ContinuousClock()
        let began = clock.now
        sweepStale(tools)
        var template = Array("\(parent)/\(directoryPrefix)XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw ClusterError(description: "cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        let cluster = PostgresCluster(
            uri: "postgresql:///nhitest?host=\(directory)&user=postgres", directory: directory, tools: tools)
        do {
            try "\(getpid())\n".write(toFile: "\(directory)/owner.pid", atomically: true, encoding: .utf8)
            if let owner = tools.owner, chown(directory, owner.uid, owner.gid) != 0 {
                throw ClusterError(description: "cannot give \(directory) to the postgres user: "
                    + String(cString: strerror(errno)))
            }
            cluster.startWatchdog()
            try cluster.run("initdb", ["-D", "\(directory)/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                                       "--locale=C", "--no-sync"], log: "initdb.log")
            let initialised = clock.now
            // Unix socket in our directory only; durability off: the cluster lives for one test run.
            let options = "-c listen_addresses='' -k \(directory) -c fsync=off -c synchronous_commit=off "
                + "-c full_page_writes=off"
            try cluster.run("pg_ctl", ["-D", "\(directory)/data", "-l", "\(directory)/server.log", "-w", "-t", "60",
                                       "-o", options, "start"], log: "pg_ctl.log")
            try cluster.createDatabase()
            let ready = clock.now
            FileHandle.standardError.write(Data(
                ("PostgreSQL test cluster (\(tools.bin)) at \(directory): initdb \(format(initialised - began)), "
                    + "start and createdb \(format(ready - initialised))\n").utf8))
            return cluster
        } catch {
            cluster.stop()
            throw error
        }
    }

    private func createDatabase() throws {
        let admin = "postgresql:///postgres?host=\(directory!)&user=postgres"
        var lastError: (any Error)?
        // pg_ctl -w has waited for the server to accept connections; retry briefly all the same.
        for _ in 0..<50 {
            do {
                let connection = try PGConnection(admin)
                try connection.exec("CREATE DATABASE nhitest")
                return
            } catch {
                lastError = error
                usleep(100_000)
            }
        }
        throw ClusterError(description: "the test cluster does not accept connections: \(lastError!)\n"
            + tail("server.log"))
    }

    /// Stops the server at once (no checkpoint: nothing in it is kept) and removes the directory. Idempotent.
    func stop() {
        guard let directory, tools != nil else { return }
        let clock = ContinuousClock()
        let began = clock.now
        if FileManager.default.fileExists(atPath: "\(directory)/data/postmaster.pid") {
            try? run("pg_ctl", ["-D", "\(directory)/data", "-m", "immediate", "-w", "stop"], log: "pg_ctl-stop.log")
        }
        try? FileManager.default.removeItem(atPath: directory)
        FileHandle.standardError.write(Data("PostgreSQL test cluster stopped in \(Self.format(clock.now - began))\n".utf8))
    }

    /// A detached shell (its own session, so Ctrl-C on the test run does not reach it) that waits for this process
    /// to end (or turn zombie), then stops the server and removes the directory if the suite did not.
    private func startWatchdog() {
        guard let directory, let tools else { return }
        let stop = (tools.runAs + ["\(tools.bin)/pg_ctl", "-D", "\(directory)/data", "-m", "immediate", "stop"])
            .map(Self.shellQuoted).joined(separator: " ")
        let dir = Self.shellQuoted(directory)
        let pid = getpid()
        let script = "while [ -d /proc/\(pid) ] && [ \"$(cut -d' ' -f3 /proc/\(pid)/stat 2>/dev/null)\" != Z ]; "
            + "do sleep 0.5; done; "
            + "if [ -f \(dir)/data/postmaster.pid ]; then \(stop); fi; rm -rf \(dir)"
        _ = try? Self.spawn(["/bin/sh", "-c", script], output: nil, newSession: true)
    }

    /// Directories of earlier runs whose test process is gone (killed before any cleanup could run).
    private static func sweepStale(_ tools: Tools) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        where name.hasPrefix(directoryPrefix) {
            let directory = "\(parent)/\(name)"
            guard let text = try? String(contentsOfFile: "\(directory)/owner.pid", encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            let stale = PostgresCluster(uri: "", directory: directory, tools: tools)
            stale.stop()
        }
    }

    /// Runs one of the PostgreSQL binaries (as the postgres user when we are root), output to a log file in the
    /// cluster directory; a failure throws with the log's tail.
    private func run(_ tool: String, _ arguments: [String], log: String) throws {
        guard let directory, let tools else { return }
        let pid = try Self.spawn(tools.runAs + ["\(tools.bin)/\(tool)"] + arguments, output: "\(directory)/\(log)",
                                 newSession: false)
        let status = Self.wait(pid)
        guard status == 0 else {
            throw ClusterError(description: "\(tool) exited with \(status):\n" + tail(log))
        }
    }

    /// posix_spawn, not Foundation's Process: Process's waitUntilExit never returned for `pg_ctl start` here (its
    /// child, the server, lives on). stdin is /dev/null, stdout and stderr go to `output`, and no other descriptor
    /// of ours is inherited (the server must not hold `swift test`'s pipes open).
    static func spawn(_ argv: [String], output: String?, newSession: Bool) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // glibc 2.34+ (Debian 12 has 2.36); a GNU extension the Glibc module does not import, hence dlsym.
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        let setsid: Int16 = 0x80  // glibc's POSIX_SPAWN_SETSID (not imported): the child starts its own session
        if newSession { posix_spawnattr_setflags(&attributes, setsid) }
        let cArguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArguments, environ)
        guard rc == 0 else {
            throw ClusterError(description: "cannot run \(argv[0]): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// The exit status of a child (128 + signal when a signal ended it).
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            if errno != EINTR { return -1 }
        }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    private func tail(_ log: String) -> String {
        guard let directory, let text = try? String(contentsOfFile: "\(directory)/\(log)", encoding: .utf8) else {
            return ""
        }
        return text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }

    private static func shellQuoted(_ word: String) -> String {
        "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static func format(_ duration: Duration) -> String {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        return String(format: "%.2f s", seconds)
    }

    // MARK: Per-test isolation

    /// A fresh schema for one test: tests run in parallel against the one cluster, each in its own namespace.
    func makeSchema(_ label: String) throws -> Scratch {
        let name = "t_\(label.lowercased().filter { $0.isLetter || $0.isNumber })_\(UInt32.random(in: 0...UInt32.max))"
        let connection = try PGConnection(uri)
        try connection.exec("CREATE SCHEMA \(try PGConnection.quoted(identifier: name))")
        return Scratch(uri: uri, schema: name)
    }

    /// The cluster of the running suite; throws the reason when it could not be started.
    static func scratch(_ label: String = #function) throws -> Scratch {
        guard let current else {
            throw ClusterError(description: "no PostgreSQL test cluster: the suite lacks the .postgresCluster trait")
        }
        return try current.get().makeSchema(label)
    }
}

/// One test's schema in the shared cluster; connections made here have it as their search_path.
struct Scratch: Sendable {
    let uri: String
    let schema: String

    func connect() throws -> PGConnection {
        let connection = try PGConnection(uri)
        try connection.exec("SET search_path TO \(try PGConnection.quoted(identifier: schema))")
        return connection
    }
}

/// Starts the shared cluster around a suite (and everything nested in it) and stops it afterwards, also when
/// tests fail or throw.
struct PostgresClusterTrait: SuiteTrait, TestScoping {
    func provideScope(for test: Test, testCase: Test.Case?,
                      performing function: @Sendable () async throws -> Void) async throws {
        guard PostgresCluster.enabled else { return try await function() }
        let started: Result<PostgresCluster, PostgresCluster.ClusterError>
        do { started = .success(try PostgresCluster.start()) } catch { started = .failure(error) }
        defer { if case .success(let cluster) = started { cluster.stop() } }
        try await PostgresCluster.$current.withValue(started) { try await function() }
    }
}

extension Trait where Self == PostgresClusterTrait {
    /// Runs the suite against the shared throwaway PostgreSQL cluster.
    static var postgresCluster: Self { PostgresClusterTrait() }
}
