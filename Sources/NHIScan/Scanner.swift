import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

/// `nhi scan`: finds credentials in MCP client configs, fingerprints them and matches them against the inventory.
/// Secrets live only in memory while a file is read; findings carry the fingerprint (never printed) and a
/// redacted value.
public enum ScanStatus: String, Sendable, CaseIterable {
    case unregistered, revoked, expired, orphaned, registered, indirect

    /// Whether this finding makes `nhi scan` exit 1.
    public var fails: Bool { self != .registered && self != .indirect }
}

public struct ScanFinding: Sendable {
    public let file: String
    public let line: Int
    public let server: String
    public let key: String
    public let pointer: String
    /// At most the first 4 characters of the value (fewer for short values), then `****`; for an indirect
    /// reference, the reference itself.
    public let value: String
    /// Why the value counts as a credential (`GitHub token`, `high entropy`, `secret-ish name`); nil when indirect.
    public let detector: String?
    public var status: ScanStatus
    public var token: String? = nil
    /// The derived states of the matched token (`expired`, `orphaned`), from `StateQuery`.
    public var tokenStates: [DerivedState] = []
    /// `sha256:<hex>` of the value, as `token register --secret-stdin` stores it. Used to match; never printed.
    package let fingerprint: String?
}

public struct ScanProblem: Sendable {
    public let file: String
    public let message: String
    /// True when the file's content went unchecked (unreadable, not JSON, too large); false for a note.
    public let isError: Bool
}

public struct ScanResult: Sendable {
    /// Files read and parsed (whether or not they turned out to be MCP configs).
    public var filesScanned = 0
    public var findings: [ScanFinding] = []
    public var problems: [ScanProblem] = []

    public var failing: Int { findings.reduce(0) { $0 + ($1.status.fails ? 1 : 0) } }
    public var errors: Int { problems.reduce(0) { $0 + ($1.isError ? 1 : 0) } }

    public func count(_ status: ScanStatus) -> Int { counts()[status] ?? 0 }

    /// Findings per status, in one pass (reports print all six).
    public func counts() -> [ScanStatus: Int] {
        var counts: [ScanStatus: Int] = [:]
        for i in findings.indices { counts[findings[i].status, default: 0] += 1 }
        return counts
    }
}

public enum Scanner {
    /// Walks `paths` and reads every config found. Every credential starts out `unregistered`; `match` settles it.
    /// `onProblem` hears each problem as it happens (the command prints them to stderr as it goes).
    public static func scan(_ paths: [String], includes: [String] = [], progress: Progress? = nil,
                            onProblem: (ScanProblem) -> Void = { _ in }) -> ScanResult {
        var result = ScanResult()
        defer { progress?.finish() }
        let walker = FileWalker(includes: includes)
        func problem(_ file: String, _ message: String, isError: Bool) {
            let p = ScanProblem(file: file, message: message, isError: isError)
            result.problems.append(p)
            onProblem(p)
        }
        for path in paths {
            walker.walk(path) { event in
                switch event {
                case .problem(let file, let message, let isError): problem(file, message, isError: isError)
                case .file(let file):
                    progress?.tick()
                    switch FileReader.read(file) {
                    case .failure(.tooLarge(let size)):
                        problem(file, "\(size) bytes, over the \(FileReader.limit >> 20) MiB limit for a config file; skipped", isError: true)
                    case .failure(.system(let message)):
                        problem(file, message, isError: true)
                    case .success(let bytes):
                        do {
                            let document = try MCPConfig.read(String(decoding: bytes, as: UTF8.self))
                            result.filesScanned += 1
                            if !document.isMCPConfig {
                                problem(file, "no mcpServers or servers object: not an MCP client config; nothing to check", isError: false)
                            }
                            for slot in document.slots { result.findings.append(finding(slot, file: file)) }
                        } catch {
                            problem(file, "not readable as JSON (comments and trailing commas allowed): \(error)", isError: true)
                        }
                    }
                }
            }
        }
        return result
    }

    package static func finding(_ slot: MCPConfig.Slot, file: String) -> ScanFinding {
        switch slot.content {
        case .credential(let value, let found):
            return ScanFinding(file: file, line: slot.line, server: slot.server, key: slot.key, pointer: slot.pointer,
                               value: redact(value), detector: found.detector, status: .unregistered,
                               fingerprint: SHA256.fingerprint(ofSecret: Array(value.utf8)))
        case .indirect(let reference):
            return ScanFinding(file: file, line: slot.line, server: slot.server, key: slot.key, pointer: slot.pointer,
                               value: reference, detector: nil, status: .indirect, fingerprint: nil)
        }
    }

    /// Shows at most the first 4 characters, and never more than a quarter of the value: `ghp_****`, `s3****`.
    public static func redact(_ value: String) -> String {
        let shown = min(4, value.count / 4)
        let head = String(String.UnicodeScalarView(value.prefix(shown).unicodeScalars.map { Validation.isControl($0) ? "?" : $0 }))
        return head + "****"
    }

    /// Matches each credential's fingerprint against the inventory, and takes the states of matched active tokens
    /// from `StateQuery` (the one definition of expired and orphaned), evaluated at `asOf`.
    public static func match(_ result: inout ScanResult, db: Database, asOf: Instant) throws {
        var known: [String: (id: String, status: String)?] = [:]
        var states: [String: [DerivedState]] = [:]
        var query = StateQuery(asOf: asOf, states: [.expired, .orphaned])
        query.extraCondition = "t.id = :token"
        for i in result.findings.indices {
            guard let fingerprint = result.findings[i].fingerprint else { continue }
            if known[fingerprint] == nil {
                let row = try db.row("SELECT id, status FROM tokens WHERE fingerprint = ?", [.text(fingerprint)])
                known[fingerprint] = try row.map { (try $0.string("id"), try $0.string("status")) }
            }
            guard let token = known[fingerprint] ?? nil else { continue }
            result.findings[i].token = token.id
            if token.status == "revoked" {
                result.findings[i].status = .revoked
                continue
            }
            if states[token.id] == nil {
                query.extraArguments = ["token": .text(token.id)]
                states[token.id] = try query.all(db).first?.states ?? []
            }
            let tokenStates = states[token.id] ?? []
            result.findings[i].tokenStates = tokenStates
            result.findings[i].status = tokenStates.contains(.expired) ? .expired : tokenStates.contains(.orphaned) ? .orphaned : .registered
        }
    }
}
