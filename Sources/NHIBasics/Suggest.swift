/// The nearest of `names` to a mistyped word by edit distance (Levenshtein), for "did you mean ...?" hints on
/// flags, subcommands, states and ids.
public enum Suggest {
    public static func nearest(_ word: String, among names: [String]) -> String? {
        let scored = names.map { ($0, distance(word, $0)) }.filter { $0.1 < 4 && $0.1 < max(word.count, 2) }
        return scored.min { $0.1 < $1.1 }?.0
    }

    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
