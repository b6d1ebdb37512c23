#if canImport(Glibc)
import Glibc
#endif

/// Where a command's output goes: a file descriptor (buffered), or memory for in-process tests.
public final class OutputSink: @unchecked Sendable {
    private let fd: Int32?
    private var buffer: [UInt8] = []
    public private(set) var captured = ""
    public let isTerminal: Bool

    public init(fd: Int32) {
        self.fd = fd
        self.isTerminal = isatty(fd) == 1
        buffer.reserveCapacity(1 << 16)
    }

    public init(capturing: Void = ()) {
        self.fd = nil
        self.isTerminal = false
    }

    public func write(_ text: String) {
        guard fd != nil else { captured += text; return }
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func line(_ text: String = "") { write(text + "\n") }

    /// UTF-8 text already encoded (the record writers build each record as bytes).
    public func write(bytes: [UInt8]) {
        guard fd != nil else { captured += String(decoding: bytes, as: UTF8.self); return }
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    public func flush() {
        guard let fd, !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { if errno == EINTR { continue }; break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    deinit { flush() }
}
