/// The one way a piece of user input is echoed in a message: a secret-looking value is never repeated, and any
/// other value is cut short and stripped of control characters.
public enum Redaction {
    public static func printable(_ value: String) -> String {
        if SecretDetector.inspect(value) != nil { return "<redacted>" }
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { isControl($0) ? "?" : $0 }))
        return cleaned.count > 60 ? String(cleaned.prefix(60)) + "..." : cleaned
    }

    /// A file path: a component that looks like a secret (`ghp_....db`) is redacted, control characters are
    /// replaced, and the rest is kept whole, so the reader still knows which file was meant.
    public static func printable(path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { part -> String in
            if SecretDetector.inspect(String(part)) != nil { return "<redacted>" }
            return String(String.UnicodeScalarView(part.unicodeScalars.map { isControl($0) ? "?" : $0 }))
        }.joined(separator: "/")
    }

    /// C0 and C1 control characters.
    public static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (s.value >= 0x7F && s.value <= 0x9F) }
}
