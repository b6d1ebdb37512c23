import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// A policy rule broken by an existing token (`check --policy` reports these as `policy-violation`).
public struct PolicyViolation: Sendable, Equatable {
    public let tokenID: String
    /// The rule's key, e.g. `max_ttl`.
    public let rule: String
    /// What the token has against what the policy allows, in words ("ttl 120d exceeds max_ttl 90d (system github)").
    public let message: String
    public init(tokenID: String, rule: String, message: String) {
        self.tokenID = tokenID
        self.rule = rule
        self.message = message
    }
}

/// Policy-as-code at the point of writing and in `check`: the policy named by `--policy` or `$NHI_POLICY`.
public struct PolicyGate: Sendable {
    public let policy: Policy
    public let path: String

    public init(policy: Policy, path: String) {
        self.policy = policy
        self.path = path
    }

    public static func load(path: String) throws(NHIError) -> PolicyGate {
        let text = try FileText.read(path, what: "policy file", limit: 1 << 20)
        return PolicyGate(policy: try Policy.parse(text, name: path), path: path)
    }

    /// Refuses a token about to be written that breaks the policy (exit 3 naming the rule and the limit).
    public func admit(_ token: Token, db: Database) throws {
        let found = policy.violations(of: token)
        guard let first = found.first else { return }
        throw NHIError.data("token '\(token.id)' breaks policy rule \(first.rule): \(first.message) (policy \(Redaction.printable(path: path)))",
                            details: found.dropFirst().map { "also breaks \($0.rule): \($0.message)" })
    }

    /// Existing active tokens that break the policy, as of an instant, ordered by token and rule.
    public func violations(_ db: Database, asOf: Instant) throws -> [PolicyViolation] {
        var found: [PolicyViolation] = []
        try Registry.forEachToken(db, .init(status: "active")) { found.append(contentsOf: policy.violations(of: $0)) }
        try unusedViolations(db, asOf: asOf, into: &found)
        return found.sorted { ($0.tokenID, $0.rule) < ($1.tokenID, $1.rule) }
    }

    /// `max_unused` per level, evaluated with the one definition of `stale` (StateQuery): each token is judged by
    /// the limit of its environment, else its system, else the default.
    package func unusedViolations(_ db: Database, asOf: Instant, into found: inout [PolicyViolation]) throws {
        let envs = policy.environments.filter { $0.value.maxUnused != nil }.keys.sorted()
        let systems = policy.systems.filter { $0.value.maxUnused != nil }.keys.sorted()
        // Each level's values under their own names (`:env_0`, `:system_0`...), so one argument set binds every
        // condition below.
        var arguments: [String: SQLValue] = [:]
        for (i, env) in envs.enumerated() { arguments["env_\(i)"] = .text(env) }
        for (i, system) in systems.enumerated() { arguments["system_\(i)"] = .text(system) }
        func list(_ prefix: String, _ count: Int) -> String { (0..<count).map { ":\(prefix)_\($0)" }.joined(separator: ", ") }
        func run(_ limit: Int64, source: String, condition: String) throws {
            var query = StateQuery(asOf: asOf, maxUnused: limit, states: [.stale])
            query.extraCondition = condition
            query.extraArguments = arguments
            try query.forEach(db) { row in
                found.append(PolicyViolation(tokenID: row.token.id, rule: "max_unused",
                                             message: row.reason(.stale, maxUnused: limit) + " (max_unused, \(source))"))
            }
        }
        for (i, env) in envs.enumerated() {
            try run(policy.environments[env]!.maxUnused!, source: "environment \(env)", condition: "t.environment = :env_\(i)")
        }
        let notOverriddenEnv = envs.isEmpty ? "1" : "(t.environment IS NULL OR t.environment NOT IN (\(list("env", envs.count))))"
        for (i, system) in systems.enumerated() {
            try run(policy.systems[system]!.maxUnused!, source: "system \(system)",
                    condition: "t.system = :system_\(i) AND \(notOverriddenEnv)")
        }
        if let limit = policy.defaults.maxUnused {
            let notOverriddenSystem = systems.isEmpty ? "1" : "t.system NOT IN (\(list("system", systems.count)))"
            try run(limit, source: "default", condition: "\(notOverriddenSystem) AND \(notOverriddenEnv)")
        }
    }

    /// The policy's `max_unused` default (for `stale`), when it sets one.
    public var maxUnused: Int64? { policy.defaults.maxUnused }

    /// The policy's `fail_on` list, when it sets one (state names and `policy-violation`).
    public var failOn: [String]? { policy.failOn }
}
