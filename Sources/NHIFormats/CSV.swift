// RFC 4180 CSV reading/writing plus spreadsheet formula-injection guards. Standard library only.
import NHIBasics

/// A CSV (or file access) failure. `line` is the 1-based physical line, or 0 when no line applies
/// (e.g. the file could not be opened).
public struct CSVError: Error, Sendable, Equatable, CustomStringConvertible {
  public let line: Int
  public let message: String

  public init(line: Int, message: String) {
    self.line = line
    self.message = message
  }

  public var description: String { line > 0 ? "line \(line): \(message)" : message }
}

private let comma = UInt8(ascii: ",")
private let quoteByte = UInt8(ascii: "\"")
private let lf = UInt8(ascii: "\n")
private let cr = UInt8(ascii: "\r")

/// RFC 4180 reader streaming from a file in 64 KiB chunks (memory stays flat on multi-GB files),
/// or from an in-memory string for tests.
///
/// Records end with LF or CRLF. Quoted fields may contain commas, doubled quotes, CR and LF.
/// Empty lines are skipped, a UTF-8 BOM at the start is ignored, a last record without a
/// trailing newline is still returned. Noncopyable because it owns a file descriptor and buffer.
public struct CSVReader: ~Copyable {
  private var source: ByteSource
  /// Physical line of the next unread byte.
  private var line = 1
  /// Reused field buffer; converted (and UTF-8 validated) once per field.
  private var field: [UInt8] = []

  private enum State { case fieldStart, unquoted, quoted, afterClosingQuote }

  /// Bounds on one record, so a hostile file cannot make the reader hold it whole (a 1 GB line, a 100 MB field):
  /// a field of at most 1 MiB, a record of at most 4 MiB and 1,000 fields (Docs/import-export.md). nhi's own
  /// fields are at most a few kilobytes.
  public static let maxFieldBytes = 1 << 20
  public static let maxRecordBytes = 4 << 20
  public static let maxFields = 1000
  private var recordBytes = 0

  public init(path: String) throws(CSVError) {
    source = try ByteSource(path: path)
    source.skipUTF8BOM()
  }

  public init(string: String) {
    self.init(bytes: Array(string.utf8))
  }

  public init(bytes: [UInt8]) {
    source = ByteSource(bytes: bytes)
    source.skipUTF8BOM()
  }

  /// Next record and the 1-based physical line where it starts; nil at end of input.
  public mutating func next() throws(CSVError) -> (fields: [String], line: Int)? {
    var fields: [String] = []
    var state = State.fieldStart
    var recordLine = line
    var fieldLine = line
    var started = false  // distinguishes an empty line (skipped) from a record of one empty field
    field.removeAll(keepingCapacity: true)
    recordBytes = 0

    while true {
      guard let b = try nextByte() else {
        switch state {
        case .quoted:
          throw CSVError(line: fieldLine, message: "unterminated quoted field starting on line \(fieldLine)")
        case .fieldStart where !started:
          return nil
        default:
          try finishField(into: &fields, line: fieldLine)
          return (fields, recordLine)
        }
      }

      switch state {
      case .fieldStart, .unquoted:
        if b == comma {
          try finishField(into: &fields, line: fieldLine)
          state = .fieldStart
          started = true
          fieldLine = line
        } else if try endsLine(b) {
          line += 1
          if !started {  // empty line: not a record
            recordLine = line
            fieldLine = line
            continue
          }
          try finishField(into: &fields, line: fieldLine)
          return (fields, recordLine)
        } else if b == quoteByte {
          guard state == .fieldStart else {
            throw CSVError(line: line, message: "quote inside an unquoted field (quote the whole field and double the quote)")
          }
          state = .quoted
          started = true
        } else {
          // Includes a lone CR, which is kept as data.
          try append(b, line: fieldLine)
          state = .unquoted
          started = true
        }

      case .quoted:
        if b == quoteByte {
          state = .afterClosingQuote
        } else {
          if b == lf { line += 1 }
          try append(b, line: fieldLine)
        }

      case .afterClosingQuote:
        if b == quoteByte {  // "" inside a quoted field is one literal quote
          try append(quoteByte, line: fieldLine)
          state = .quoted
        } else if b == comma {
          try finishField(into: &fields, line: fieldLine)
          state = .fieldStart
          fieldLine = line
        } else if try endsLine(b) {
          line += 1
          try finishField(into: &fields, line: fieldLine)
          return (fields, recordLine)
        } else {
          throw CSVError(line: line, message: "unexpected character after closing quote (expected ',' or end of line)")
        }
      }
    }
  }

  private mutating func finishField(into fields: inout [String], line: Int) throws(CSVError) {
    recordBytes += field.count
    if fields.count >= CSVReader.maxFields {
      throw CSVError(line: line, message: "a record has more than \(CSVReader.maxFields) fields (reading stopped here)")
    }
    if recordBytes > CSVReader.maxRecordBytes {
      throw CSVError(line: line, message: "a record is longer than \(CSVReader.maxRecordBytes >> 20) MiB (reading stopped here)")
    }
    if field.isEmpty {
      fields.append("")
    } else if !field.contains(where: { $0 >= 0x80 }) {
      // ASCII is valid UTF-8: the (unspecialised, metadata-looking-up) validating initialiser only for the rest.
      fields.append(String(decoding: field, as: UTF8.self))
    } else {
      guard let s = String(validating: field, as: UTF8.self) else {
        throw CSVError(line: line, message: "invalid UTF-8 in field")
      }
      fields.append(s)
    }
    field.removeAll(keepingCapacity: true)
  }

  @inline(__always)
  private mutating func append(_ b: UInt8, line: Int) throws(CSVError) {
    guard field.count < CSVReader.maxFieldBytes else {
      throw CSVError(line: line, message: "a field is longer than \(CSVReader.maxFieldBytes >> 20) MiB (reading stopped here)")
    }
    field.append(b)
  }

  @inline(__always)
  private mutating func nextByte() throws(CSVError) -> UInt8? {
    if source.start == source.end {
      guard source.fill() else {
        try checkReadError()
        return nil
      }
    }
    let b = source.buffer[source.start]
    source.start += 1
    return b
  }

  /// True for LF, and for CR when an LF follows (the LF is consumed too).
  @inline(__always)
  private mutating func endsLine(_ b: UInt8) throws(CSVError) -> Bool {
    if b == lf { return true }
    guard b == cr else { return false }
    if source.start == source.end {
      guard source.fill() else {
        try checkReadError()
        return false
      }
    }
    guard source.buffer[source.start] == lf else { return false }
    source.start += 1
    return true
  }

  private func checkReadError() throws(CSVError) {
    if let code = source.readErrno {
      throw CSVError(line: line, message: "read failed: \(describeErrno(code))")
    }
  }
}

/// CSV field quoting, defined once: `line` (the value model) and `OutputBytes.csvField` (streamed reports) both
/// write fields through `appendField`, so the two cannot drift.
public enum CSVWriter {
  /// One CSV record ending in "\n". A field is quoted only when it contains `,` `"` CR or LF,
  /// with inner quotes doubled, so plain data stays readable.
  public static func line(_ fields: [String]) -> String {
    var out: [UInt8] = []
    for (i, field) in fields.enumerated() {
      if i > 0 { out.append(comma) }
      field.withUTF8Bytes { appendField($0, to: &out) }
    }
    out.append(lf)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends one field (UTF-8): as it is, or quoted with inner quotes doubled when it holds `,` `"` CR or LF.
  @inline(__always)
  package static func appendField(_ field: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
    guard field.contains(where: { $0 == comma || $0 == quoteByte || $0 == cr || $0 == lf }) else {
      return out.append(contentsOf: field)
    }
    out.append(quoteByte)
    for b in field {
      if b == quoteByte { out.append(quoteByte) }
      out.append(b)
    }
    out.append(quoteByte)
  }
}

/// Guards against CSV formula injection (a cell like `=HYPERLINK(...)` runs when opened in a spreadsheet).
public enum CSVFormula {
  private static func isTrigger(_ b: UInt8) -> Bool {
    b == UInt8(ascii: "=") || b == UInt8(ascii: "+") || b == UInt8(ascii: "-") || b == UInt8(ascii: "@")
  }

  /// Number of leading `'` if they are followed by a formula trigger, else nil.
  private static func quotedTriggerPrefix(_ cell: String) -> Int? {
    var quotes = 0
    for b in cell.utf8 {
      if b == UInt8(ascii: "'") {
        quotes += 1
      } else {
        return isTrigger(b) ? quotes : nil
      }
    }
    return nil
  }

  /// Export: a cell starting with = + - @ gets a leading `'` so spreadsheets treat it as text.
  /// A cell that already is `'`+ followed by a trigger also gets one, so `restore` can always
  /// remove exactly one and round trips stay exact.
  public static func neutralise(_ cell: String) -> String {
    quotedTriggerPrefix(cell) != nil ? "'" + cell : cell
  }

  /// Import: removes the one `'` that `neutralise` added (only when `'`+ is followed by = + - @).
  public static func restore(_ cell: String) -> String {
    guard let quotes = quotedTriggerPrefix(cell), quotes >= 1 else { return cell }
    return String(cell.dropFirst())
  }
}
