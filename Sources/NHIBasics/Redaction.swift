/// The one way a piece of user input is echoed in a message: a secret-looking value is never repeated, and any
/// other value is cut short and stripped of control characters.
public enum Redaction {
    public static func printable(_ value: String) -> String {
        if SecretDetector.inspect(value) != nil { return "<redacted>" }
        let cleaned = String(String.UnicodeScalarView(value.unicodeScalars.map { isControl($0) ? "?" : $0 }))
        return cleaned.count > 60 ? String(cleaned.prefix(60)) + "..." : cleaned
    }

    /// C0 and C1 control characters.
    public static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (s.value >= 0x7F && s.value <= 0x9F) }
}
