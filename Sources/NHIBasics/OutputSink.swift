#if canImport(Glibc)
import Glibc
#endif

/// Where a command's output goes: a file descriptor (buffered), or memory for in-process tests.
///
/// A failed write is kept, not ignored: the first error (`failure`, an errno) stops further writes, and the runner
/// turns it into exit 4 (`cannot write standard output: No space left on device`), so a truncated export never
/// passes for a whole one.
public final class OutputSink: @unchecked Sendable {
    private let fd: Int32?
    private var buffer: [UInt8] = []
    /// The errno of the first write (or close) that failed; nil while every byte has gone out.
    public private(set) var failure: Int32?
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
        // After a failure the rest is dropped: the command's exit code already says the output is incomplete.
        if failure == nil { failure = buffer.withUnsafeBytes { Descriptor.writeAll(fd, $0) } }
        buffer.removeAll(keepingCapacity: true)
    }

    /// The last flush, then the descriptor closed, both checked (a file system may report a full disk only on
    /// close). Returns the errno of the first failure of the sink's life, nil when all output went out.
    public func finish() -> Int32? {
        flush()
        if let fd, failure == nil, close(fd) != 0, errno != EINTR { failure = errno }
        return failure
    }

    /// The failure in words, as strerror gives it (`No space left on device`).
    public static func describe(_ code: Int32) -> String { String(cString: strerror(code)) }

    deinit { flush() }
}
