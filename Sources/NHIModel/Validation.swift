import NHIBasics
import NHIFormats
import NHIStore

/// The rules every value must meet before it reaches the store. Limits are documented in Docs/validation.md.
public enum Validation {
    public enum Limit {
        public static let id = 128
        public static let name = 200
        public static let email = 254
        public static let team = 128
        public static let purpose = 500
        public static let system = 128
        public static let environment = 64
        public static let scope = 128
        public static let scopes = 100
        public static let labelKey = 64
        public static let labelValue = 256
        public static let labels = 50
        public static let reason = 500
        public static let note = 2000
        public static let actor = 128
        public static let tool = 200
    }

    /// Ids: 1–128 of `A-Z a-z 0-9 . _ : / @ -`, starting with a letter or digit, and not secret-looking.
    public static func id(_ value: String, field: String) throws(NHIError) -> String {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else { throw .data("\(field) must not be empty") }
        guard bytes.count <= Limit.id else { throw .data("\(field) is longer than \(Limit.id) characters") }
        guard isAlnum(bytes[0]) else {
            throw .data("\(field) '\(Redaction.printable(value))' must start with a letter or digit")
        }
        for b in bytes where !(isAlnum(b) || b == 46 || b == 95 || b == 58 || b == 47 || b == 64 || b == 45) {
            throw .data("\(field) '\(Redaction.printable(value))' may only contain letters, digits and . _ : / @ -")
        }
        try notSecret(value, field: field)
        return value
    }

    /// Free text: non-empty after trimming, bounded, no control characters, not secret-looking.
    public static func text(_ value: String, field: String, limit: Int) throws(NHIError) -> String {
        guard !value.isEmpty, hasNonWhitespace(value) else { throw .data("\(field) must not be empty") }
        // utf8.count bounds the character count, so the costlier grapheme count runs only for long values.
        guard value.utf8.count <= limit || value.count <= limit else { throw .data("\(field) is longer than \(limit) characters") }
        if value.unicodeScalars.contains(where: isControl) {
            throw .data("\(field) contains a control character (newlines, tabs and escapes are not allowed)")
        }
        // Only non-ASCII text can hold one: ordinary values skip the scalar walk.
        if !value.utf8.allSatisfy({ $0 < 0x80 }), let hidden = value.unicodeScalars.first(where: isInvisibleFormat) {
            throw .data("\(field) contains U+\(String(hidden.value, radix: 16, uppercase: true)), an invisible or text-direction character (it would make tables, CSV and HTML show what is not there)")
        }
        try notSecret(value, field: field)
        return value
    }

    /// Characters that change how text around them displays without being seen (the Trojan Source spoof,
    /// CVE-2021-42574): bidirectional embeddings, overrides and isolates, zero-width characters, line and paragraph
    /// separators, the byte order mark. Refused in every text field (ids are ASCII already).
    package static func isInvisibleFormat(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x061C, 0x180E, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0xFEFF: return true
        default: return false
        }
    }

    /// The facts of a token that contradict each other (Docs/validation.md): a revoked token without its
    /// revocation time, an active one with one, an issue time in the future (a token issued in 9999 is never due).
    /// `now` plus a day of tolerance for clocks that differ.
    public static func consistency(of token: Token, now: Instant) -> (field: String, message: String)? {
        if token.status == "revoked" && token.revokedAt == nil {
            return ("revoked_at", "a revoked token needs revoked_at (when it was revoked)")
        }
        if token.status == "active" && token.revokedAt != nil {
            return ("revoked_at", "revoked_at is set on an active token (give status revoked, or no revoked_at)")
        }
        let latest = now + 86_400
        if token.issuedAt > latest {
            return ("issued_at", "issued_at \(Time.iso(token.issuedAt)) is in the future (a token is registered once issued)")
        }
        if let used = token.lastUsedAt, used > latest {
            return ("last_used_at", "last_used_at \(Time.iso(used)) is in the future")
        }
        return nil
    }

    public static func email(_ value: String) throws(NHIError) -> String {
        let v = try text(value, field: "--email", limit: Limit.email)
        let parts = v.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
              !v.contains(where: { $0.isWhitespace }) else {
            throw .data("--email '\(Redaction.printable(v))' is not an email address (name@example.com)")
        }
        return v
    }

    /// Scopes: a comma-separated list; each scope non-empty, no whitespace, bounded.
    public static func scopes(_ value: String) throws(NHIError) -> [String] {
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        if value.isEmpty { return [] }
        guard items.count <= Limit.scopes else { throw .data("--scopes has more than \(Limit.scopes) entries") }
        var seen = Set<String>()
        var result: [String] = []
        for item in items {
            guard !item.isEmpty else { throw .data("--scopes has an empty entry (write a,b,c)") }
            guard !hasWhitespace(item) else { throw .data("--scopes entry '\(Redaction.printable(item))' contains whitespace") }
            _ = try text(item, field: "--scopes entry", limit: Limit.scope)
            if seen.insert(item).inserted { result.append(item) }
        }
        return result
    }

    /// A label `key=value`; keys are identifier-like so they stay usable as filters.
    public static func label(_ pair: String) throws(NHIError) -> (String, String) {
        guard let eq = pair.firstIndex(of: "=") else {
            throw .data("--label '\(Redaction.printable(pair))' must be key=value")
        }
        let key = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
        let keyBytes = Array(key.utf8)
        guard !keyBytes.isEmpty, keyBytes.count <= Limit.labelKey, isAlnum(keyBytes[0]),
              keyBytes.allSatisfy({ isAlnum($0) || $0 == 46 || $0 == 95 || $0 == 45 || $0 == 47 }) else {
            throw .data("label key '\(Redaction.printable(key))' must be 1-\(Limit.labelKey) letters, digits or . _ - / starting with a letter or digit")
        }
        try notSecret(key, field: "label key")
        if value.isEmpty { return (key, value) }
        return (key, try text(value, field: "label '\(key)'", limit: Limit.labelValue))
    }

    public static func notSecret(_ value: String, field: String) throws(NHIError) {
        if let finding = SecretDetector.inspect(value) {
            throw .data("\(field) looks like a live secret (\(finding.reason)); nhi never stores secrets: record the token by its id and pass its value with --secret-stdin, which keeps only a SHA-256 fingerprint")
        }
    }

    /// `value.contains { !$0.isWhitespace }`, answered from the bytes when one is ASCII and not whitespace (such a
    /// byte starts a character, or follows a prepended mark that is not whitespace either): no grapheme breaking
    /// for ordinary text.
    package static func hasNonWhitespace(_ value: String) -> Bool {
        if value.utf8.contains(where: { $0 < 0x80 && !isASCIIWhitespace($0) }) { return true }
        return value.contains { !$0.isWhitespace }
    }

    /// `value.contains { $0.isWhitespace }`, from the bytes when the value is ASCII (a character's first scalar
    /// decides `isWhitespace`; in ASCII every scalar starts a character except LF after CR, and CR is whitespace).
    package static func hasWhitespace(_ value: String) -> Bool {
        if value.utf8.allSatisfy({ $0 < 0x80 }) { return value.utf8.contains(where: isASCIIWhitespace) }
        return value.contains { $0.isWhitespace }
    }

    package static func isASCIIWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    package static func isAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) }

    package static func isControl(_ s: Unicode.Scalar) -> Bool { Redaction.isControl(s) }

}
