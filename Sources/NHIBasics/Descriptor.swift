#if canImport(Glibc)
import Glibc
#endif

/// Whole-buffer writes and reads on a file descriptor, retrying what a signal interrupted (EINTR): standard
/// output (`OutputSink`) and a table's spool file (`TableSpool`).
public enum Descriptor {
    /// Writes every byte. Nil when all went out, else the errno (EIO for a write that wrote nothing).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        transfer(bytes.count) { offset in write(fd, bytes.baseAddress! + offset, bytes.count - offset) }
    }

    /// Fills `bytes`. Nil when it was filled, else the errno (EIO for an end of file before it).
    public static func readExactly(_ fd: Int32, _ bytes: UnsafeMutableRawBufferPointer) -> Int32? {
        transfer(bytes.count) { offset in read(fd, bytes.baseAddress! + offset, bytes.count - offset) }
    }

    /// `step(offset)` until `count` bytes are done; it is only called with offset < count.
    private static func transfer(_ count: Int, _ step: (Int) -> Int) -> Int32? {
        var offset = 0
        while offset < count {
            let n = step(offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return n < 0 ? errno : EIO }
            offset += n
        }
        return nil
    }
}
