import CCrypto
#if canImport(Glibc)
import Glibc
#endif

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

    /// The digest of bytes already in an array (no copy).
    public static func hex(bytes input: [UInt8]) -> String {
        var digest: [UInt8] = []
        SHA256.digest(input, into: &digest)
        return hexString(digest)
    }

    /// The digest of `input` into `digest` (32 bytes), for callers hashing many small inputs with reused buffers.
    package static func digest(_ input: [UInt8], into digest: inout [UInt8]) {
        if digest.count != 32 { digest = [UInt8](repeating: 0, count: 32) }
        let ok = input.withUnsafeBytes { buffer in
            digest.withUnsafeMutableBufferPointer { out in nhi_sha256(buffer.baseAddress, buffer.count, out.baseAddress) }
        }
        precondition(ok != 0, "libcrypto SHA-256 failed")
    }

    package static let digits = Array("0123456789abcdef".utf8)
    package static func hexString(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of a file's bytes, read in 64 KiB chunks so memory stays flat on large files.
    public static func hex(fileAt path: String) throws(NHIError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .data("cannot open \(Redaction.printable(path: path)): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard let context = nhi_sha256_begin() else { throw .store("libcrypto SHA-256 could not start") }
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 {
                let code = errno
                var ignored = [UInt8](repeating: 0, count: 32)
                _ = nhi_sha256_end(context, &ignored)
                throw .data("cannot read \(Redaction.printable(path: path)): \(String(cString: strerror(code)))")
            }
            if n == 0 { break }
            _ = chunk.withUnsafeBytes { nhi_sha256_update(context, $0.baseAddress, n) }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        guard nhi_sha256_end(context, &digest) != 0 else { throw .store("libcrypto SHA-256 failed") }
        return hexString(digest)
    }

    /// The form a secret is recorded in: never the value, only `sha256:<hex>` of its bytes.
    public static func fingerprint(ofSecret secret: [UInt8]) -> String { "sha256:" + hex(secret) }
}
