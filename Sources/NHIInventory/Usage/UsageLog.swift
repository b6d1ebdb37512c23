import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit

/// One recorded use of a token: which agent presented it, when, and through which tool.
public struct UsageRecord: Sendable, Equatable {
    public var token: String
    public var agent: String
    public var at: Instant
    public var tool: String?

    public init(token: String, agent: String, at: Instant, tool: String? = nil) {
        self.token = token; self.agent = agent; self.at = at; self.tool = tool
    }
}

/// The usage log: rows in `usage` (no foreign key on the agent: an unknown agent using a token is exactly what
/// must be recorded), `tokens.last_used_at` kept at the latest use, and one audit entry per command.
/// Whether a use makes a token `foreign-use` or `stale` is decided only by `DerivedState`.
public enum UsageLog {
    /// How far in the future a use may be stamped (clocks of the hosts that log uses drift a little).
    public static let clockSkew: Int64 = 300

    /// Checks one use's values; `at` is already parsed. The token's existence is checked against the store.
    /// `cache` remembers values that passed, for imports that name the same few tokens and agents many times.
    public static func validate(token: String, agent: String, at: Instant, tool: String?, now: Instant,
                                cache: ValidatedValues? = nil) throws(NHIError) -> UsageRecord {
        let ids = cache?.ids, tools = cache?.tools
        let token = try ValidatedValues.check(token, in: ids) { v throws(NHIError) in try Fields.id.check(v, label: "token") }
        let agent = try ValidatedValues.check(agent, in: ids) { v throws(NHIError) in try Fields.id.check(v, label: "agent") }
        let tool = try tool.map { v throws(NHIError) in
            try ValidatedValues.check(v, in: tools) { v throws(NHIError) in try Fields.tool.check(v, label: "tool") }
        }
        if at > now + clockSkew {
            throw .data("at \(Time.iso(at)) is in the future (now is \(Time.iso(now)))")
        }
        return UsageRecord(token: token, agent: agent, at: at, tool: tool)
    }

    /// Inserts one use and returns its row id.
    @discardableResult
    package static func insert(_ db: Database, _ use: UsageRecord, recordedAt: Instant) throws -> Int64 {
        try db.execute("INSERT INTO usage (token_id, agent_id, at, tool, recorded_at) VALUES (?, ?, ?, ?, ?)",
                       [.text(use.token), .text(use.agent), .int(use.at), use.tool.sql, .int(recordedAt)])
        return db.lastInsertRowID
    }

    /// Moves `last_used_at` forward to `at` (never back: an old log imported late does not make a token look idle).
    package static func touch(_ db: Database, token: String, at: Instant) throws {
        try db.execute("UPDATE tokens SET last_used_at = :at WHERE id = :token AND (last_used_at IS NULL OR last_used_at < :at)",
                       ["token": .text(token), "at": .int(at)])
    }

    /// Records one use (`usage record`) with its audit entry. The token must exist.
    @discardableResult
    public static func record(_ db: Database, _ use: UsageRecord, audit: AuditContext) throws -> Int64 {
        _ = try Registry.requireToken(db, use.token)
        let id = try insert(db, use, recordedAt: audit.at)
        try touch(db, token: use.token, at: use.at)
        let summary: JSONObject = [
            "token": .string(use.token), "agent": .string(use.agent), "at": .string(Time.iso(use.at)),
            "tool": use.tool.map(JSON.string) ?? .null, "records": .int(1), "first_usage_id": .int(id), "last_usage_id": .int(id),
        ]
        try AuditLog.append(db, audit, action: "usage.record", entityKind: AuditLog.usageKind, entityID: use.token,
                            before: nil, after: .object(summary))
        return id
    }

    /// The tokens a set of uses put in the `foreign-use` state, as `StateQuery` decides it.
    public static func foreignUseTokens(_ db: Database, asOf: Instant, among tokens: [String]? = nil) throws -> [TokenStates] {
        var query = StateQuery(asOf: asOf, states: [.foreignUse])
        if let tokens, tokens.count == 1 {
            query.extraCondition = "t.id = :token"
            query.extraArguments = ["token": .text(tokens[0])]
        }
        let wanted = tokens.map(Set.init)
        return try query.all(db).filter { wanted?.contains($0.token.id) ?? true }
    }
}

/// Values that already passed validation (ids; tool names), so a log naming the same tokens and agents a million
/// times checks each once. Bounded, so memory stays flat whatever the input.
public final class ValidatedValues {
    public final class Seen {
        package static let limit = 10_000
        package var values: Set<String> = []
    }
    package let ids = Seen()
    package let tools = Seen()

    public init() {}

    package static func check(_ value: String, in seen: Seen?, _ validate: (String) throws(NHIError) -> String) throws(NHIError) -> String {
        if let seen, seen.values.contains(value) { return value }
        let valid = try validate(value)
        if let seen, seen.values.count < Seen.limit { seen.values.insert(valid) }
        return valid
    }
}
