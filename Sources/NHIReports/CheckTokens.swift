import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules

extension Check {
    /// `--fail-on` when none is given: the policy's `fail_on`, else the default failing states. The HTML report
    /// orders its findings by it, as `check` does.
    package static func defaultFailOn(policy: PolicyGate?) throws(NHIError) -> [String] {
        if let fromPolicy = policy?.failOn { return try parseFailOn(fromPolicy.joined(separator: ",")) }
        return DerivedState.defaultFailOn.map(\.rawValue)
    }

    /// `nhi check --policy P` with no other option, as the HTML report and `report controls` evaluate the inventory.
    package static func run(_ db: Database, asOf: Instant, policy: PolicyGate?) throws -> Result {
        try run(db, asOf: asOf, failOn: defaultFailOn(policy: policy),
                maxUnused: policy?.maxUnused ?? StateQuery(asOf: asOf).maxUnused, policy: policy)
    }
}

extension Check.Result {
    /// One token with at least one finding.
    package struct TokenFindings {
        /// Its place in `states` when it is in a derived state; nil when it only breaks the policy.
        package let handle: TokenStatesArena.Handle?
        /// Its derived states: bit i for `DerivedState.allCases[i]` (as a scan's `found`).
        package let stateMask: StateMask
        /// Its policy violations, by rule.
        package let violations: ArraySlice<Check.Finding>
    }

    /// Every token with a finding, once: the tokens in a derived state in id order (with their violations), then
    /// the tokens that only break the policy. No token is decoded from the arena (at a million tokens, 314,000 are
    /// in a state): the states come from the buckets, and violations are matched to tokens by a binary search.
    package func forEachTokenWithFindings(_ body: (TokenFindings) throws -> Void) rethrows {
        let handles = states.handles
        // Violations are sorted by token id, so each token's are adjacent.
        var attached: [Int: Range<Int>] = [:]
        var alone: [Range<Int>] = []
        var start = violations.startIndex
        while start < violations.endIndex {
            let id = violations[start].tokenID
            var end = start + 1
            while end < violations.endIndex && violations[end].tokenID == id { end += 1 }
            if let j = position(of: id) { attached[j] = start..<end } else { alone.append(start..<end) }
            start = end
        }
        // `handles` and every bucket are in token id order, and ids are unique: each bucket is a subsequence of
        // `handles`, so one forward walk with a position in each bucket finds every token's states (no array of a
        // mask per token: 3.5 MB at a million tokens).
        var next = [Int](repeating: 0, count: buckets.count)
        for (j, handle) in handles.enumerated() {
            var mask: StateMask = 0
            for (i, bucket) in buckets.enumerated() where next[i] < bucket.count && bucket[next[i]] == handle {
                mask |= 1 << i
                next[i] += 1
            }
            try body(TokenFindings(handle: handle, stateMask: mask, violations: attached[j].map { violations[$0] } ?? []))
        }
        for range in alone { try body(TokenFindings(handle: nil, stateMask: 0, violations: violations[range])) }
    }

    /// The index in `states.handles` of the token `id`, when it is in a derived state (the handles are in the
    /// byte order of their ids).
    private func position(of id: String) -> Int? {
        let handles = states.handles
        var low = 0, high = handles.count
        while low < high {
            let mid = (low + high) / 2
            if states.tokenID(handles[mid]).utf8.lexicographicallyPrecedes(id.utf8) { low = mid + 1 } else { high = mid }
        }
        return low < handles.count && states.tokenID(handles[low]) == id ? low : nil
    }

    /// Active tokens in each derived state (`DerivedState.allCases` order; a token in two states counts in both).
    package var stateCounts: [Int] { buckets.map(\.count) }
}
