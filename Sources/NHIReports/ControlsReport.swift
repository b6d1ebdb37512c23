import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

extension Reports {
    /// One framework control: the subjects (states, `policy-violation`, policy rules) that evidence it, and how many
    /// tokens fail it.
    public struct ControlRow: Sendable, Equatable {
        public let control: Control
        public let subjects: [String]
        public let failingTokens: Int
    }

    /// `nhi report controls` and the HTML report's controls table: every control (`Controls.all` order). A token
    /// fails a control when one of its `check` findings lists it (`Controls.controls(forFinding:rule:)`, the
    /// `controls` of each finding in `check --format json`); a token is counted once per control.
    public static func controls(_ result: Check.Result) -> [ControlRow] {
        let all = Controls.all
        let number = Dictionary(uniqueKeysWithValues: all.enumerated().map { ($1, $0) })
        func numbers(_ kind: String, _ rule: String?) -> [Int] {
            Controls.controls(forFinding: kind, rule: rule).map { number[$0]! }
        }
        // Tokens share few sets of states and rules: each set's controls are worked out once.
        var byStates: [StateMask: [Int]] = [:]
        var byRule: [String: [Int]] = [:]
        var failing = [Int](repeating: 0, count: all.count)
        result.forEachTokenWithFindings { token in
            var controls: [Int]
            if let cached = byStates[token.stateMask] {
                controls = cached
            } else {
                controls = Array(Set(DerivedState.allCases.indices.filter { token.stateMask & (1 << $0) != 0 }
                    .flatMap { numbers(DerivedState.allCases[$0].rawValue, nil) }))
                byStates[token.stateMask] = controls
            }
            if !token.violations.isEmpty {
                var union = Set(controls)
                for v in token.violations {
                    let key = v.rule ?? ""
                    if byRule[key] == nil { byRule[key] = numbers(v.kind, v.rule) }
                    union.formUnion(byRule[key]!)
                }
                controls = Array(union)
            }
            for c in controls { failing[c] += 1 }
        }
        return all.enumerated().map { ControlRow(control: $1, subjects: Controls.subjects(evidencing: $1), failingTokens: failing[$0]) }
    }

    /// The controls table as of `asOf`, evaluated as `nhi check --policy P` does.
    public static func controls(_ db: Database, asOf: Instant, policy: PolicyGate?) throws -> [ControlRow] {
        controls(try Check.run(db, asOf: asOf, policy: policy))
    }
}
