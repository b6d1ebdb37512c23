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

/// `policy check`: validates a policy file before it gates writes or CI (Docs/policy.md).
public enum PolicyCommands {
    public static var all: [CommandSpec] {
        [
            CommandSpec(["policy", "check"], abstract: "Validate a policy file (unknown keys, bad durations and values).",
                        discussion: "Exit 0 when the file is valid; exit 3 naming the JSON path of every bad key (e.g. systems.github.max_ttl).",
                        arguments: [ArgumentSpec("FILE", help: "The policy file (JSON).")],
                        examples: ["nhi policy check Docs/examples/policy.json"]) { inv in
                let path = inv.required("FILE")
                let policy = try PolicyGate.load(path: path).policy
                let setRules = PolicyRules.keys.count - countUnset(policy.defaults)
                inv.out.line("policy \(Redaction.printable(path: path)) is valid: \(setRules) default rule\(setRules == 1 ? "" : "s"), "
                             + "\(policy.systems.count) system override\(policy.systems.count == 1 ? "" : "s"), "
                             + "\(policy.environments.count) environment override\(policy.environments.count == 1 ? "" : "s")"
                             + (policy.failOn.map { "; fail_on: \($0.joined(separator: ","))" } ?? ""))
                return .success
            },
        ]
    }

    package static func countUnset(_ r: PolicyRules) -> Int {
        [r.maxTTL == nil, r.maxRotateEvery == nil, r.maxReviewEvery == nil, r.requireFingerprint == nil,
         r.forbidNoExpiry == nil, r.allowedScopes == nil, r.maxUnused == nil, r.maxException == nil].filter { $0 }.count
    }
}
