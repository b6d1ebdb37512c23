import CCrypto

/// SHA-256 through OpenSSL's libcrypto; nhi never implements cryptography itself.
public enum SHA256 {
    public static func hex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        let input = Array(bytes)
        var digest = [UInt8](repeating: 0, count: 32)
        let ok = input.withUnsafeBytes { buffer in
            digest.withUnsafeMutableBufferPointer { out in
                nhi_sha256(buffer.baseAddress, buffer.count, out.baseAddress)
            }
        }
        precondition(ok != 0, "libcrypto SHA-256 failed")
        return hexString(digest)
    }

    public static func hex(_ text: String) -> String { hex(text.utf8) }

    static let digits = Array("0123456789abcdef".utf8)
    static func hexString(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The form a secret is recorded in: never the value, only `sha256:<hex>` of its bytes.
    public static func fingerprint(ofSecret secret: [UInt8]) -> String { "sha256:" + hex(secret) }
}
