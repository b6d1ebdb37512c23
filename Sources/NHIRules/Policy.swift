import NHIBasics
import NHIFormats
import NHIStore
import NHIModel

/// The limits a policy sets at one level (defaults, one system or one environment). nil: not set at this level.
public struct PolicyRules: Sendable, Equatable {
    public var maxTTL: Int64?
    public var maxRotateEvery: Int64?
    public var maxReviewEvery: Int64?
    public var requireFingerprint: Bool?
    public var forbidNoExpiry: Bool?
    public var allowedScopes: [String]?
    public var maxUnused: Int64?
    /// The longest an exception may waive a state for, from when it is granted (default 90d).
    public var maxException: Int64?

    /// How long a token may go unused before it is `stale` when neither `--max-unused` nor a policy says: the one
    /// default for `check`, the reports and `StateQuery`.
    public static let defaultMaxUnused: Int64 = 90 * 86_400

    public init() {}

    public static let defaultMaxException: Int64 = 90 * 86_400

    /// Every key a level may hold, in the order the docs list them.
    public static let keys = ["max_ttl", "max_rotate_every", "max_review_every", "require_fingerprint",
                              "forbid_no_expiry", "allowed_scopes", "max_unused", "max_exception"]
}

/// A policy file (Docs/policy.md): defaults, then overrides per system and per environment, and `fail_on`.
/// For each key, a token's environment wins over its system, which wins over `defaults`.
public struct Policy: Sendable, Equatable {
    public var defaults = PolicyRules()
    public var systems: [String: PolicyRules] = [:]
    public var environments: [String: PolicyRules] = [:]
    public var failOn: [String]?

    public init() {}

    /// A value that applies to a token, and where it came from ("default", "system github", "environment prod").
    public struct Resolved<T> {
        public let value: T
        public let source: String
    }

    public func resolve<T>(_ key: KeyPath<PolicyRules, T?>, system: String, environment: String?) -> Resolved<T>? {
        if let environment, let v = environments[environment]?[keyPath: key] {
            return Resolved(value: v, source: "environment \(environment)")
        }
        if let v = systems[system]?[keyPath: key] { return Resolved(value: v, source: "system \(system)") }
        if let v = defaults[keyPath: key] { return Resolved(value: v, source: "default") }
        return nil
    }

    /// The token column a rule is about (import errors name it).
    public static func column(ofRule rule: String) -> String {
        switch rule {
        case "max_ttl", "forbid_no_expiry": return "expires_at"
        case "max_rotate_every": return "rotate_every"
        case "max_review_every": return "review_every"
        case "require_fingerprint": return "fingerprint"
        case "allowed_scopes": return "scopes"
        default: return "last_used_at"
        }
    }

    /// The rules a token's recorded fields break (everything but `max_unused`, which depends on time and use).
    /// Revoked tokens are history, not live credentials: no rule applies to them.
    public func violations(of t: Token) -> [PolicyViolation] {
        guard t.status == "active" else { return [] }
        var found: [PolicyViolation] = []
        func add(_ rule: String, _ message: String) { found.append(PolicyViolation(tokenID: t.id, rule: rule, message: message)) }
        let env = t.environment
        if let limit = resolve(\.maxTTL, system: t.system, environment: env) {
            if let expires = t.expiresAt {
                let ttl = expires - t.issuedAt
                if ttl > limit.value {
                    add("max_ttl", "ttl \(Duration.format(ttl)) exceeds max_ttl \(Duration.format(limit.value)) (\(limit.source))")
                }
            } else {
                add("max_ttl", "expires never, but max_ttl is \(Duration.format(limit.value)) (\(limit.source))")
            }
        }
        if let forbid = resolve(\.forbidNoExpiry, system: t.system, environment: env), forbid.value, t.expiresAt == nil {
            add("forbid_no_expiry", "expires never, but forbid_no_expiry is true (\(forbid.source))")
        }
        if let limit = resolve(\.maxRotateEvery, system: t.system, environment: env), t.rotateEvery > limit.value {
            add("max_rotate_every", "rotate_every \(Duration.format(t.rotateEvery)) exceeds max_rotate_every \(Duration.format(limit.value)) (\(limit.source))")
        }
        if let limit = resolve(\.maxReviewEvery, system: t.system, environment: env), t.reviewEvery > limit.value {
            add("max_review_every", "review_every \(Duration.format(t.reviewEvery)) exceeds max_review_every \(Duration.format(limit.value)) (\(limit.source))")
        }
        if let require = resolve(\.requireFingerprint, system: t.system, environment: env), require.value, t.fingerprint == nil {
            add("require_fingerprint", "no fingerprint recorded, but require_fingerprint is true (\(require.source)); register with --secret-stdin")
        }
        if let allowed = resolve(\.allowedScopes, system: t.system, environment: env) {
            let outside = t.scopes.filter { !allowed.value.contains($0) }
            if !outside.isEmpty {
                let list = allowed.value.isEmpty ? "none" : allowed.value.joined(separator: ",")
                add("allowed_scopes", "scope \(outside.joined(separator: ",")) not in allowed_scopes \(list) (\(allowed.source))")
            }
        }
        return found
    }

    // MARK: Parsing

    /// Parses a policy file's text, collecting every problem with the JSON path of the bad key.
    public static func parse(_ text: String, name: String) throws(NHIError) -> Policy {
        let root: JSON
        do { root = try JSONParser.parse(text) } catch {
            throw .data("policy '\(Redaction.printable(path: name))' is not valid JSON: \(error.description)")
        }
        var problems: [String] = []
        var policy = Policy()
        guard let object = root.objectValue else { throw .data("policy '\(Redaction.printable(path: name))': the top level must be a JSON object") }
        for (key, value) in object {
            switch key {
            case "version":
                if value.intValue != 1 { problems.append("version: must be 1, not \(value.serialized())") }
            case "defaults":
                policy.defaults = parseRules(value, path: "defaults", problems: &problems)
            case "systems", "environments":
                guard let members = value.objectValue else { problems.append("\(key): must be an object of name -> rules"); continue }
                var levels: [String: PolicyRules] = [:]
                for (name, rules) in members {
                    if name.isEmpty { problems.append("\(key): a name must not be empty"); continue }
                    levels[name] = parseRules(rules, path: "\(key).\(name)", problems: &problems)
                }
                if key == "systems" { policy.systems = levels } else { policy.environments = levels }
            case "fail_on":
                guard let items = value.arrayValue else { problems.append("fail_on: must be an array of state names"); continue }
                var states: [String] = []
                for (i, item) in items.enumerated() {
                    guard let state = item.stringValue,
                          DerivedState(rawValue: state) != nil || state == "policy-violation" else {
                        let all = DerivedState.allCases.map(\.rawValue) + ["policy-violation"]
                        problems.append("fail_on[\(i)]: \(Redaction.printable(item.serialized())) is not a state (states: \(all.joined(separator: ", ")))")
                        continue
                    }
                    if !states.contains(state) { states.append(state) }
                }
                policy.failOn = states
            default:
                problems.append("\(Redaction.printable(key)): unknown key (keys: version, defaults, systems, environments, fail_on)")
            }
        }
        if let first = problems.first {
            throw .data("policy '\(Redaction.printable(path: name))' is invalid: \(first)", details: problems.count > 1 ? problems : [])
        }
        return policy
    }

    package static func parseRules(_ value: JSON, path: String, problems: inout [String]) -> PolicyRules {
        var rules = PolicyRules()
        guard let object = value.objectValue else {
            problems.append("\(Redaction.printable(path)): must be an object of rules (\(PolicyRules.keys.joined(separator: ", ")))")
            return rules
        }
        for (key, value) in object {
            let at = "\(path).\(key)"
            func duration() -> Int64? {
                guard let text = value.stringValue else { problems.append("\(at): must be a duration string such as \"30d\""); return nil }
                do { return try Duration.parse(text) } catch { problems.append("\(at): \(error.message)"); return nil }
            }
            func bool() -> Bool? {
                guard let b = value.boolValue else { problems.append("\(at): must be true or false"); return nil }
                return b
            }
            switch key {
            case "max_ttl": rules.maxTTL = duration()
            case "max_rotate_every": rules.maxRotateEvery = duration()
            case "max_review_every": rules.maxReviewEvery = duration()
            case "max_unused": rules.maxUnused = duration()
            case "max_exception": rules.maxException = duration()
            case "require_fingerprint": rules.requireFingerprint = bool()
            case "forbid_no_expiry": rules.forbidNoExpiry = bool()
            case "allowed_scopes":
                guard let items = value.arrayValue else { problems.append("\(at): must be an array of scope strings"); continue }
                var scopes: [String] = []
                for (i, item) in items.enumerated() {
                    guard let scope = item.stringValue, !scope.isEmpty, !scope.contains(","),
                          !scope.contains(where: { $0.isWhitespace }) else {
                        problems.append("\(at)[\(i)]: \(item.serialized().prefix(60)) is not a scope (a non-empty string without commas or spaces)")
                        continue
                    }
                    scopes.append(scope)
                }
                rules.allowedScopes = scopes
            default:
                problems.append("\(Redaction.printable(at)): unknown key (keys: \(PolicyRules.keys.joined(separator: ", ")))")
            }
        }
        return rules
    }
}
