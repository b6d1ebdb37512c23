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

/// Policy-as-code at the point of writing and in `check`. Placeholder until the policy engine lands: no policy
/// file means no extra rules, and a named policy file is refused rather than silently ignored.
public struct PolicyGate {
    public static func load(_ inv: Invocation) throws(NHIError) -> PolicyGate? {
        guard let path = inv.policyPath else { return nil }
        throw .data("policy files are not supported yet (--policy \(path))")
    }

    /// Refuses a token about to be written that breaks the policy (exit 3 naming the rule and the limit).
    public func admit(_ token: Token, db: Database) throws {}

    /// Existing active tokens that break the policy, as of an instant.
    public func violations(_ db: Database, asOf: Instant) throws -> [PolicyViolation] { [] }

    /// The policy's `max_unused` default (for `stale`), when it sets one.
    public var maxUnused: Int64? { nil }

    /// The policy's `fail_on` list, when it sets one (state names and `policy-violation`).
    public var failOn: [String]? { nil }
}
