#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole (small) file, such as a policy or a JSON import, as UTF-8 text.
public enum FileText {
    /// Refuses anything larger than `limit` bytes, so a wrong path cannot exhaust memory.
    public static func read(_ path: String, what: String, limit: Int = 1 << 30) throws(NHIError) -> String {
        if let refusal = refusalToWait(path, what: what) { throw .data(refusal) }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .data("cannot open \(what) '\(Redaction.printable(path: path))': \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8]
        switch readAll(fd, limit: limit) {
        case .success(let read): bytes = read
        case .failure(.tooLarge): throw .data("\(what) '\(Redaction.printable(path: path))' is larger than \(limit >> 20) MiB")
        case .failure(.failed(errno: let code)):
            throw .data("cannot read \(what) '\(Redaction.printable(path: path))': \(String(cString: strerror(code)))")
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .data("\(what) '\(Redaction.printable(path: path))' is not UTF-8 text")
        }
        return text
    }

    public enum ReadFailure: Error, Equatable {
        case tooLarge
        case failed(errno: Int32)
    }

    /// Every byte up to end of file, retrying a read a signal interrupted (EINTR): Foundation's
    /// `readDataToEndOfFile` traps on it instead. Also what the tests read their children's pipes with.
    public static func readAll(_ fd: Int32, limit: Int = .max) -> Result<[UInt8], ReadFailure> {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = Glibc.read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.failed(errno: errno)) }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
            if bytes.count > limit { return .failure(.tooLarge) }
        }
    }

    /// The message for a path `waitingKind` names ("import file 'x' is a FIFO, not a file ..."), nil otherwise.
    public static func refusalToWait(_ path: String, what: String) -> String? {
        waitingKind(path).map { "\(what) '\(Redaction.printable(path: path))' is a \($0), not a file (reading it would wait for a writer)" }
    }

    /// "FIFO" or "socket" when opening `path` to read would block until another process writes (checked before
    /// opening, as a character device such as /dev/zero is refused after it); nil for anything else.
    public static func waitingKind(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFIFO: return "FIFO"
        case S_IFSOCK: return "socket"
        default: return nil
        }
    }
}
