/// Policy-as-code at the point of writing. Placeholder until the policy engine lands: no policy file means no
/// extra rules, and a named policy file is refused rather than silently ignored.
public struct PolicyGate {
    public static func load(_ inv: Invocation) throws(NHIError) -> PolicyGate? {
        guard let path = inv.policyPath else { return nil }
        throw .data("policy files are not supported yet (--policy \(path))")
    }

    public func admit(_ token: Token, db: Database) throws {}
}
