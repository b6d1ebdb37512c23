// RFC 8259 JSON parser working directly on UTF-8 bytes (no per-Character String work), so it can
// keep up with million-line ndjson imports. Optional JSONC extensions: comments and trailing commas.
import NHIBasics

/// A parse failure with a 1-based position. Columns count Unicode scalars, not bytes, so they
/// match what an editor shows for non-ASCII text.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public let line: Int
  public let column: Int
  public let message: String

  public init(line: Int, column: Int, message: String) {
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String { "line \(line), column \(column): \(message)" }
}

public struct JSONParser {
  public struct Options: Sendable {
    public var allowComments = false
    public var allowTrailingCommas = false
    /// Maximum container nesting. The parser recurses once per level, so keep this modest;
    /// the limit is what stops `[[[[…` bombs from overflowing the stack.
    public var maxDepth = 256
    /// Whether a key may appear twice in one object (the last wins). Refused in strict JSON: in an import or a
    /// policy, `"kind":"token","kind":"owner"` means two things and nhi would silently pick one. Allowed for the
    /// client configuration files scan reads, which their clients read last-wins.
    public var allowDuplicateKeys = false

    public init(allowComments: Bool = false, allowTrailingCommas: Bool = false, maxDepth: Int = 256,
                allowDuplicateKeys: Bool = false) {
      self.allowComments = allowComments
      self.allowTrailingCommas = allowTrailingCommas
      self.maxDepth = maxDepth
      self.allowDuplicateKeys = allowDuplicateKeys
    }

    public static let strict = Options()
    /// VS Code style JSONC: `//` and `/* */` comments plus trailing commas (duplicate keys: the last wins).
    public static let jsonc = Options(allowComments: true, allowTrailingCommas: true, allowDuplicateKeys: true)
  }

  public static func parse(_ text: String, options: Options = .strict) throws(JSONParseError) -> JSON {
    var text = text  // withUTF8 needs a var; native strings are not copied
    let result = text.withUTF8 { bytes in
      Result<JSON, JSONParseError> { () throws(JSONParseError) -> JSON in
        try parse(bytes: bytes, options: options)
      }
    }
    return try result.get()
  }

  public static func parse(bytes: UnsafeBufferPointer<UInt8>, options: Options = .strict) throws(JSONParseError)
    -> JSON
  {
    guard let base = bytes.baseAddress, bytes.count > 0 else {
      throw JSONParseError(line: 1, column: 1, message: "unexpected end of input, expected a JSON value")
    }
    var parser = ByteParser(base: base, count: bytes.count, options: options, tracking: false)
    return try parser.parseDocument()
  }

  /// Parses and also returns the 1-based line on which each value starts, keyed by JSON Pointer
  /// (RFC 6901: "" for the root, "/mcpServers/github/env/TOKEN", "/args/2"; `~` → `~0`, `/` → `~1`).
  /// For a repeated key the last value's lines win; descendants of the overwritten value may linger.
  public static func parseWithLocations(_ text: String, options: Options = .strict) throws(JSONParseError)
    -> (JSON, [String: Int])
  {
    var text = text
    let result = text.withUTF8 { bytes in
      Result<(JSON, [String: Int]), JSONParseError> { () throws(JSONParseError) -> (JSON, [String: Int]) in
        guard let base = bytes.baseAddress, bytes.count > 0 else {
          throw JSONParseError(line: 1, column: 1, message: "unexpected end of input, expected a JSON value")
        }
        var parser = ByteParser(base: base, count: bytes.count, options: options, tracking: true)
        let value = try parser.parseDocument()
        return (value, parser.locations)
      }
    }
    return try result.get()
  }
}

private let quote = UInt8(ascii: "\"")
private let backslash = UInt8(ascii: "\\")
private let slash = UInt8(ascii: "/")
private let newlineByte = UInt8(ascii: "\n")

/// The parser proper. Reads through a raw pointer with explicit `pos < count` checks
/// (avoids Array bounds/uniqueness checks on the hot path).
private struct ByteParser {
  package let base: UnsafePointer<UInt8>
  package let count: Int
  package let options: JSONParser.Options
  package var pos = 0
  /// Where text starts after an optional BOM, so columns on line 1 ignore the BOM.
  package var textStart = 0
  package var depth = 0
  /// Reused buffer for strings that contain escapes.
  package var scratch: [UInt8] = []

  // Location tracking (parseWithLocations only).
  package let tracking: Bool
  package var locations: [String: Int] = [:]
  package var pointer: [UInt8] = []
  package var lineCursor = 0
  package var lineAtCursor = 1

  package init(base: UnsafePointer<UInt8>, count: Int, options: JSONParser.Options, tracking: Bool) {
    self.base = base
    self.count = count
    self.options = options
    self.tracking = tracking
  }

  package mutating func parseDocument() throws(JSONParseError) -> JSON {
    if count >= 3 && base[0] == 0xEF && base[1] == 0xBB && base[2] == 0xBF {
      pos = 3
      textStart = 3
    }
    let value = try parseValue()
    try skipWhitespace()
    guard pos == count else { throw error("unexpected \(found()) after the JSON value") }
    return value
  }

  // MARK: Errors

  /// Line/column are computed only when an error happens, keeping the hot path free of counting.
  package func error(_ message: String, at offset: Int? = nil) -> JSONParseError {
    let target = min(offset ?? pos, count)
    var line = 1
    var lineStart = textStart
    var i = textStart
    while i < target {
      if base[i] == newlineByte {
        line += 1
        lineStart = i + 1
      }
      i += 1
    }
    var column = 1
    i = lineStart
    while i < target {
      if base[i] & 0xC0 != 0x80 { column += 1 }  // count scalar starts, not continuation bytes
      i += 1
    }
    return JSONParseError(line: line, column: column, message: message)
  }

  /// Describes the byte at `pos` for messages.
  package func found() -> String {
    guard pos < count else { return "end of input" }
    let b = base[pos]
    if b > 0x20 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
    if b >= 0x80, let length = utf8SequenceLength(at: pos),
      let s = String(validating: UnsafeBufferPointer(start: base + pos, count: length), as: UTF8.self)
    {
      return "'\(s)'"
    }
    let hex = String(b, radix: 16, uppercase: true)
    return "byte 0x\(b < 0x10 ? "0" : "")\(hex)"
  }

  // MARK: Whitespace and comments

  package mutating func skipWhitespace() throws(JSONParseError) {
    while pos < count {
      switch base[pos] {
      case 0x20, 0x0A, 0x0D, 0x09: pos += 1
      case slash where options.allowComments: try skipComment()
      default: return
      }
    }
  }

  package mutating func skipComment() throws(JSONParseError) {
    let start = pos
    guard pos + 1 < count else { throw error("unexpected '/', expected '//' or '/*' comment") }
    switch base[pos + 1] {
    case slash:
      pos += 2
      while pos < count && base[pos] != newlineByte { pos += 1 }
    case UInt8(ascii: "*"):
      pos += 2
      while pos + 1 < count {
        if base[pos] == UInt8(ascii: "*") && base[pos + 1] == slash {
          pos += 2
          return
        }
        pos += 1
      }
      throw error("unterminated '/*' comment", at: start)
    default:
      throw error("unexpected '/', expected '//' or '/*' comment")
    }
  }

  // MARK: Values

  package mutating func parseValue() throws(JSONParseError) -> JSON {
    try skipWhitespace()
    guard pos < count else { throw error("unexpected end of input, expected a JSON value") }
    if tracking { recordLocation() }
    switch base[pos] {
    case UInt8(ascii: "{"): return try parseObject()
    case UInt8(ascii: "["): return try parseArray()
    case quote: return .string(try parseString())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
    case slash where !options.allowComments:
      throw error("comments are not allowed in strict JSON")
    default:
      throw error("unexpected \(found()), expected a JSON value")
    }
  }

  package mutating func literal(_ word: StaticString, _ value: JSON) throws(JSONParseError) -> JSON {
    let n = word.utf8CodeUnitCount
    guard pos + n <= count else { throw error("invalid literal, expected '\(word)'") }
    for i in 0..<n where base[pos + i] != word.utf8Start[i] {
      throw error("invalid literal, expected '\(word)'")
    }
    pos += n
    return value
  }

  package mutating func enterContainer() throws(JSONParseError) {
    depth += 1
    if depth > options.maxDepth {
      throw error("nesting depth exceeds the maximum of \(options.maxDepth)")
    }
  }

  package mutating func parseArray() throws(JSONParseError) -> JSON {
    try enterContainer()
    pos += 1  // '['
    var items: [JSON] = []
    try skipWhitespace()
    if pos < count && base[pos] == UInt8(ascii: "]") {
      pos += 1
      depth -= 1
      return .array(items)
    }
    while true {
      let mark = pointer.count
      if tracking { pushPointer(index: items.count) }
      items.append(try parseValue())
      if tracking { pointer.removeSubrange(mark...) }
      try skipWhitespace()
      guard pos < count else { throw error("expected ',' or ']' after array element, found end of input") }
      switch base[pos] {
      case UInt8(ascii: ","):
        pos += 1
        if options.allowTrailingCommas {
          try skipWhitespace()
          if pos < count && base[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
          }
        }
      case UInt8(ascii: "]"):
        pos += 1
        depth -= 1
        return .array(items)
      default:
        throw error("expected ',' or ']' after array element, found \(found())")
      }
    }
  }

  package mutating func parseObject() throws(JSONParseError) -> JSON {
    try enterContainer()
    pos += 1  // '{'
    var object = JSONObject()
    try skipWhitespace()
    if pos < count && base[pos] == UInt8(ascii: "}") {
      pos += 1
      depth -= 1
      return .object(object)
    }
    while true {
      guard pos < count, base[pos] == quote else {
        throw error("expected '\"' to begin an object key, found \(found())")
      }
      let keyStart = pos
      let key = try parseString()
      try skipWhitespace()
      guard pos < count, base[pos] == UInt8(ascii: ":") else {
        throw error("expected ':' after object key, found \(found())")
      }
      pos += 1
      let mark = pointer.count
      if tracking { pushPointer(key: key) }
      let value = try parseValue()
      if tracking { pointer.removeSubrange(mark...) }
      if !object.set(key, value, replacing: options.allowDuplicateKeys) {
        throw error("duplicate key '\(Redaction.printable(key))'", at: keyStart)
      }
      try skipWhitespace()
      guard pos < count else { throw error("expected ',' or '}' after object member, found end of input") }
      switch base[pos] {
      case UInt8(ascii: ","):
        pos += 1
        try skipWhitespace()
        if options.allowTrailingCommas && pos < count && base[pos] == UInt8(ascii: "}") {
          pos += 1
          depth -= 1
          return .object(object)
        }
      case UInt8(ascii: "}"):
        pos += 1
        depth -= 1
        return .object(object)
      default:
        throw error("expected ',' or '}' after object member, found \(found())")
      }
    }
  }

  // MARK: Strings

  /// Parses a string starting at the opening quote. Fast path: no escapes → one String built
  /// straight from the input bytes. Otherwise bytes are assembled in `scratch`.
  package mutating func parseString() throws(JSONParseError) -> String {
    let open = pos
    pos += 1
    let begin = pos
    while pos < count {
      let b = base[pos]
      if b == quote {
        let s = String(decoding: UnsafeBufferPointer(start: base + begin, count: pos - begin), as: UTF8.self)
        pos += 1
        return s
      }
      if b == backslash { break }
      if b < 0x20 { throw controlCharacterError(b) }
      if b >= 0x80 { pos += try validUTF8Length() } else { pos += 1 }
    }
    guard pos < count else { throw error("unterminated string", at: open) }

    scratch.removeAll(keepingCapacity: true)
    scratch.append(contentsOf: UnsafeBufferPointer(start: base + begin, count: pos - begin))
    while pos < count {
      let b = base[pos]
      switch b {
      case quote:
        pos += 1
        return String(decoding: scratch, as: UTF8.self)
      case backslash:
        try parseEscape(stringStart: open)
      case 0x00..<0x20:
        throw controlCharacterError(b)
      case 0x80...:
        let n = try validUTF8Length()
        scratch.append(contentsOf: UnsafeBufferPointer(start: base + pos, count: n))
        pos += n
      default:
        scratch.append(b)
        pos += 1
      }
    }
    throw error("unterminated string", at: open)
  }

  package func controlCharacterError(_ b: UInt8) -> JSONParseError {
    let hex = String(b, radix: 16, uppercase: true)
    return error("control character U+\(b < 0x10 ? "000" : "00")\(hex) must be escaped in a string")
  }

  package mutating func parseEscape(stringStart: Int) throws(JSONParseError) {
    let escapeStart = pos
    pos += 1  // '\'
    guard pos < count else { throw error("unterminated string", at: stringStart) }
    let b = base[pos]
    pos += 1
    switch b {
    case quote, backslash, slash: scratch.append(b)
    case UInt8(ascii: "b"): scratch.append(0x08)
    case UInt8(ascii: "f"): scratch.append(0x0C)
    case UInt8(ascii: "n"): scratch.append(0x0A)
    case UInt8(ascii: "r"): scratch.append(0x0D)
    case UInt8(ascii: "t"): scratch.append(0x09)
    case UInt8(ascii: "u"):
      let unit = try hex4(escapeStart: escapeStart)
      var scalar = unit
      if (0xD800...0xDBFF).contains(unit) {
        // A high surrogate must be followed by an escaped low surrogate.
        guard pos + 1 < count, base[pos] == backslash, base[pos + 1] == UInt8(ascii: "u") else {
          throw error("lone surrogate \\u\(hexString(unit)) (expected a low surrogate escape next)", at: escapeStart)
        }
        let lowStart = pos
        pos += 2
        let low = try hex4(escapeStart: lowStart)
        guard (0xDC00...0xDFFF).contains(low) else {
          throw error("lone surrogate \\u\(hexString(unit)) (followed by \\u\(hexString(low)))", at: escapeStart)
        }
        scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
      } else if (0xDC00...0xDFFF).contains(unit) {
        throw error("lone surrogate \\u\(hexString(unit))", at: escapeStart)
      }
      appendUTF8(scalar)
    default:
      pos -= 1
      throw error("invalid escape sequence '\\\(found().trimmingQuotes)' in string", at: escapeStart)
    }
  }

  /// Reads four hex digits at `pos` (just after `\u`).
  package mutating func hex4(escapeStart: Int) throws(JSONParseError) -> UInt32 {
    guard pos + 4 <= count else { throw error("invalid \\u escape: expected 4 hex digits", at: escapeStart) }
    var value: UInt32 = 0
    for _ in 0..<4 {
      let b = base[pos]
      let digit: UInt8
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
      default: throw error("invalid \\u escape: expected 4 hex digits", at: escapeStart)
      }
      value = value << 4 | UInt32(digit)
      pos += 1
    }
    return value
  }

  package func hexString(_ v: UInt32) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - s.count)) + s
  }

  package mutating func appendUTF8(_ v: UInt32) {
    switch v {
    case ..<0x80:
      scratch.append(UInt8(v))
    case ..<0x800:
      scratch.append(UInt8(0xC0 | v >> 6))
      scratch.append(UInt8(0x80 | v & 0x3F))
    case ..<0x10000:
      scratch.append(UInt8(0xE0 | v >> 12))
      scratch.append(UInt8(0x80 | (v >> 6) & 0x3F))
      scratch.append(UInt8(0x80 | v & 0x3F))
    default:
      scratch.append(UInt8(0xF0 | v >> 18))
      scratch.append(UInt8(0x80 | (v >> 12) & 0x3F))
      scratch.append(UInt8(0x80 | (v >> 6) & 0x3F))
      scratch.append(UInt8(0x80 | v & 0x3F))
    }
  }

  /// Length of the well-formed UTF-8 sequence at `pos`, or an error (rejects overlongs, surrogates, > U+10FFFF).
  package func validUTF8Length() throws(JSONParseError) -> Int {
    guard let n = utf8SequenceLength(at: pos) else { throw error("invalid UTF-8 byte sequence") }
    return n
  }

  package func utf8SequenceLength(at i: Int) -> Int? {
    func continuation(_ j: Int, _ low: UInt8 = 0x80, _ high: UInt8 = 0xBF) -> Bool {
      j < count && base[j] >= low && base[j] <= high
    }
    switch base[i] {
    case 0xC2...0xDF:
      return continuation(i + 1) ? 2 : nil
    case 0xE0:
      return continuation(i + 1, 0xA0) && continuation(i + 2) ? 3 : nil
    case 0xE1...0xEC, 0xEE...0xEF:
      return continuation(i + 1) && continuation(i + 2) ? 3 : nil
    case 0xED:
      return continuation(i + 1, 0x80, 0x9F) && continuation(i + 2) ? 3 : nil
    case 0xF0:
      return continuation(i + 1, 0x90) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
    case 0xF1...0xF3:
      return continuation(i + 1) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
    case 0xF4:
      return continuation(i + 1, 0x80, 0x8F) && continuation(i + 2) && continuation(i + 3) ? 4 : nil
    default:
      return nil
    }
  }

  // MARK: Numbers

  package mutating func parseNumber() throws(JSONParseError) -> JSON {
    let begin = pos
    let negative = base[pos] == UInt8(ascii: "-")
    if negative { pos += 1 }
    let digitsStart = pos
    guard pos < count, isDigit(base[pos]) else { throw error("invalid number: expected a digit after '-'") }
    if base[pos] == UInt8(ascii: "0") {
      pos += 1
      if pos < count && isDigit(base[pos]) { throw error("invalid number: leading zeros are not allowed") }
    } else {
      while pos < count && isDigit(base[pos]) { pos += 1 }
    }
    let digitsEnd = pos
    var integral = true
    if pos < count && base[pos] == UInt8(ascii: ".") {
      integral = false
      pos += 1
      guard pos < count, isDigit(base[pos]) else { throw error("invalid number: expected a digit after '.'") }
      while pos < count && isDigit(base[pos]) { pos += 1 }
    }
    if pos < count && (base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E")) {
      integral = false
      pos += 1
      if pos < count && (base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-")) { pos += 1 }
      guard pos < count, isDigit(base[pos]) else { throw error("invalid number: expected a digit in the exponent") }
      while pos < count && isDigit(base[pos]) { pos += 1 }
    }

    if integral {
      // Accumulate negatively so Int64.min is representable; overflow falls through to Double.
      var value: Int64 = 0
      var overflow = false
      var i = digitsStart
      while i < digitsEnd {
        let (m, o1) = value.multipliedReportingOverflow(by: 10)
        let (s, o2) = m.subtractingReportingOverflow(Int64(base[i] &- UInt8(ascii: "0")))
        if o1 || o2 {
          overflow = true
          break
        }
        value = s
        i += 1
      }
      if !overflow {
        if negative { return .int(value) }
        if value != .min { return .int(-value) }
      }
    }
    // The grammar is already validated; the stdlib parser is locale-independent and correctly rounded.
    let text = String(decoding: UnsafeBufferPointer(start: base + begin, count: pos - begin), as: UTF8.self)
    guard let d = Double(text), d.isFinite else { throw error("number out of range", at: begin) }
    return .double(d)
  }

  @inline(__always) package func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

  // MARK: Locations

  package mutating func recordLocation() {
    // The cursor only moves forward, so counting newlines costs O(n) over the whole document.
    while lineCursor < pos {
      if base[lineCursor] == newlineByte { lineAtCursor += 1 }
      lineCursor += 1
    }
    locations[String(decoding: pointer, as: UTF8.self)] = lineAtCursor
  }

  package mutating func pushPointer(index: Int) {
    pointer.append(slash)
    pointer.append(contentsOf: String(index).utf8)
  }

  package mutating func pushPointer(key: String) {
    pointer.append(slash)
    for b in key.utf8 {
      switch b {
      case UInt8(ascii: "~"): pointer.append(contentsOf: [UInt8(ascii: "~"), UInt8(ascii: "0")])
      case slash: pointer.append(contentsOf: [UInt8(ascii: "~"), UInt8(ascii: "1")])
      default: pointer.append(b)
      }
    }
  }
}

extension String {
  /// "'x'" → "x" for embedding a `found()` description after a backslash.
  fileprivate var trimmingQuotes: Substring {
    hasPrefix("'") && hasSuffix("'") && count >= 2 ? dropFirst().dropLast() : Substring(self)
  }
}
