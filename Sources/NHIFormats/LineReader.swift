// Streaming line reader for ndjson import, plus the chunked byte source shared with CSVReader.
import NHIBasics
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads lines (without the LF or CRLF terminator) from a file in 64 KiB chunks, numbering them from 1.
/// A UTF-8 BOM at the start is skipped. Empty lines are returned too (ndjson importers skip them).
///
/// `withNextLine` hands out a pointer into the read buffer, so the common case allocates nothing;
/// `next()` is the convenient copying variant.
public struct LineReader: ~Copyable {
  private var source: ByteSource
  private var lineNumber = 0
  /// Set when a read() fails mid-file; `next()` then reports end of input.
  public private(set) var readError: CSVError?

  public init(path: String) throws(CSVError) {
    source = try ByteSource(path: path)
    source.skipUTF8BOM()
  }

  public init(string: String) {
    source = ByteSource(bytes: Array(string.utf8))
    source.skipUTF8BOM()
  }

  public init(bytes: [UInt8]) {
    source = ByteSource(bytes: bytes)
    source.skipUTF8BOM()
  }

  /// Next line as a fresh byte array and its 1-based line number; nil at end of input.
  public mutating func next() -> (bytes: [UInt8], line: Int)? {
    withNextLine { bytes, line in (Array(bytes), line) }
  }

  /// Calls `body` with the next line's bytes (valid only during the call) and its 1-based number.
  /// Returns nil at end of input without calling `body`.
  public mutating func withNextLine<R, E: Error>(
    _ body: (UnsafeBufferPointer<UInt8>, Int) throws(E) -> R
  ) throws(E) -> R? {
    var scanFrom = source.start
    while true {
      let available = source.end - scanFrom
      if available > 0, let hit = memchr(source.buffer + scanFrom, Int32(UInt8(ascii: "\n")), available) {
        let newline = hit.assumingMemoryBound(to: UInt8.self) - source.buffer
        var lineEnd = newline
        if lineEnd > source.start && source.buffer[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
        let lineStart = source.start
        source.start = newline + 1
        lineNumber += 1
        return try body(UnsafeBufferPointer(start: source.buffer + lineStart, count: lineEnd - lineStart), lineNumber)
      }
      // No terminator buffered yet: remember how far we scanned (fill() may move bytes to the front).
      let scanned = source.end - source.start
      guard source.fill() else {
        if let code = source.readErrno {
          readError = CSVError(line: lineNumber + 1, message: "read failed: \(describeErrno(code))")
          return nil
        }
        if source.overlong {
          readError = CSVError(line: lineNumber + 1, message: "line \(lineNumber + 1) is longer than \(ByteSource.maxSpan >> 20) MiB (reading stopped here)")
          return nil
        }
        guard source.start < source.end else { return nil }
        // Final line without a terminator.
        let lineStart = source.start
        source.start = source.end
        lineNumber += 1
        return try body(UnsafeBufferPointer(start: source.buffer + lineStart, count: source.end - lineStart), lineNumber)
      }
      scanFrom = source.start + scanned
    }
  }
}

package func describeErrno(_ code: Int32) -> String {
  String(cString: strerror(code))
}

/// Read buffer over a file descriptor, or over an in-memory copy for tests and small inputs.
/// Reads 64 KiB at a time and reuses the same buffer, so memory stays flat on huge files; the
/// buffer only grows when a caller needs one contiguous span longer than that (a giant line).
package struct ByteSource: ~Copyable {
  package static let chunkSize = 64 * 1024

  private let fd: Int32  // -1 for in-memory input
  package private(set) var buffer: UnsafeMutablePointer<UInt8>
  private var capacity: Int
  /// First unconsumed byte; callers advance it.
  package var start = 0
  /// One past the last valid byte.
  package private(set) var end = 0
  private var atEOF = false
  package private(set) var readErrno: Int32? = nil
  /// A line (one contiguous span) may be at most this long: the buffer never grows past it, so a 1 GB line
  /// costs 4 MiB, not 1 GB (Docs/import-export.md). `overlong` is set when a line would need more.
  package static let maxSpan = 4 << 20
  package private(set) var overlong = false

  package init(path: String) throws(CSVError) {
    if let refusal = FileText.refusalToWait(path, what: "input") { throw CSVError(line: 0, message: refusal) }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw CSVError(line: 0, message: "cannot open \(Redaction.printable(path: path)): \(describeErrno(errno))")
    }
    // Read the first chunk now so a directory or unreadable file fails here, not mid-import.
    // (Done before `self` is complete: a noncopyable value cannot be torn down conditionally.)
    let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: Self.chunkSize)
    var n: Int
    repeat { n = read(fd, storage, Self.chunkSize) } while n < 0 && errno == EINTR
    if n < 0 {
      let code = errno
      close(fd)
      storage.deallocate()
      throw CSVError(line: 0, message: "cannot read \(Redaction.printable(path: path)): \(describeErrno(code))")
    }
    self.fd = fd
    capacity = Self.chunkSize
    buffer = storage
    end = n
    atEOF = n == 0
  }

  package init(bytes: [UInt8]) {
    fd = -1
    capacity = max(bytes.count, 1)
    let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    bytes.withUnsafeBufferPointer { src in
      if let base = src.baseAddress { storage.update(from: base, count: src.count) }
    }
    buffer = storage
    end = bytes.count
    atEOF = true
  }

  deinit {
    if fd >= 0 { close(fd) }
    buffer.deallocate()
  }

  /// Moves unconsumed bytes to the front and appends the next read.
  /// Returns false when nothing more could be read (end of file, or a read error in `readErrno`).
  package mutating func fill() -> Bool {
    guard !atEOF else { return false }
    if start > 0 {
      let pending = end - start
      if pending > 0 { memmove(buffer, buffer + start, pending) }
      start = 0
      end = pending
    }
    if end == capacity {
      guard capacity < Self.maxSpan else {
        overlong = true
        atEOF = true
        return false
      }
      let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
      bigger.update(from: buffer, count: end)
      buffer.deallocate()
      buffer = bigger
      capacity *= 2
    }
    while true {
      let n = read(fd, buffer + end, min(capacity - end, Self.chunkSize))
      if n > 0 {
        end += n
        return true
      }
      if n < 0 && errno == EINTR { continue }
      if n < 0 { readErrno = errno }
      atEOF = true
      return false
    }
  }

  package mutating func skipUTF8BOM() {
    while end - start < 3 && fill() {}
    if end - start >= 3 && buffer[start] == 0xEF && buffer[start + 1] == 0xBB && buffer[start + 2] == 0xBF {
      start += 3
    }
  }
}
