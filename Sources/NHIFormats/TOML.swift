// TOML 1.0.0 reader (https://toml.io/en/v1.0.0), ours, standard library only, producing `JSON` values so the MCP
// config readers can treat Codex's `config.toml` like any JSON config.
//
// What it reads: the whole of TOML 1.0.0 as the toml-test suite checks it (Tests/NHITests/Fixtures/toml-test):
// tables `[a.b]`, arrays of tables `[[x]]`, bare, quoted and dotted keys, inline tables, arrays (multi-line,
// trailing comma, comments), the four string kinds with every escape, integers (decimal, hex, octal, binary,
// underscores; Int64 range, overflow is an error), floats (exponents, underscores, inf, nan), booleans, offset and
// local date-times, local dates and times, comments, and the redefinition rules (a key, table or array of tables
// defined twice is an error; dotted keys cannot add to a table a header defined, nor a header to one dotted keys
// defined; inline tables and static arrays are closed). TOML 1.1 additions (newlines and trailing commas in inline
// tables, `\e`, `\xHH`, times without seconds) are rejected, as 1.0 says.
//
// The mapping to `JSON`: tables -> `.object` in document order, arrays -> `.array`, strings -> `.string`,
// integers -> `.int`, floats -> `.double` (inf/nan included; note `JSON.serialized()` prints them as null),
// booleans -> `.bool`. Date-times, dates and times become `.string` holding their original text exactly as written
// (after validation), e.g. "1979-05-27 07:32:00Z" with its space; they are not normalised, and a consumer cannot
// tell them from strings.
//
// Errors carry a 1-based line and column (columns count Unicode scalars) and a fixed message: no part of the
// source text, key or value, is ever echoed, since config values are often secrets.

/// A TOML parse failure. The message never contains text from the document.
public struct TOMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
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

public enum TOML {
  /// Deepest nesting of tables and arrays accepted (the converter recurses once per level).
  public static let maxDepth = 128

  public static func parse(_ text: String) throws(TOMLParseError) -> JSON {
    try parse(bytes: Array(text.utf8))
  }

  /// Parses raw file bytes; invalid UTF-8 is an error (a `String` would have repaired it silently).
  public static func parse(bytes: [UInt8]) throws(TOMLParseError) -> JSON {
    var parser = TOMLByteParser(bytes, tracking: false)
    return try parser.parseDocument()
  }

  /// Also returns the 1-based line where each value, table and array of tables starts, keyed by JSON Pointer
  /// (RFC 6901, as `JSONParser.parseWithLocations`): "" is the root, "/mcp_servers/github/env/GITHUB_TOKEN",
  /// "/servers/0/name" for the first `[[servers]]` table. A table header's line is its table's line; a table
  /// only implied (the `a` of `[a.b]`, or of `a.b = 1`) gets the line that first implied it.
  public static func parseWithLocations(_ text: String) throws(TOMLParseError) -> (JSON, [String: Int]) {
    try parseWithLocations(bytes: Array(text.utf8))
  }

  public static func parseWithLocations(bytes: [UInt8]) throws(TOMLParseError) -> (JSON, [String: Int]) {
    var parser = TOMLByteParser(bytes, tracking: true)
    let value = try parser.parseDocument()
    return (value, parser.locations)
  }
}

// MARK: - Document tree under construction

/// A table while the document is read. Classes, because headers and dotted keys reach back into tables made earlier.
private final class TOMLTable {
  enum Origin {
    /// Only implied, as `a` by `[a.b]`: a later `[a]` may still define it.
    case implied
    /// Defined by its own `[header]` (or as an element of `[[header]]`).
    case header
    /// Made by dotted keys (`a.b = 1` makes `a`); only more dotted keys in the same place may add to it.
    case dotted
    /// The table an inline table is read into; closed once read.
    case inline
  }

  enum Member {
    /// A finished value: scalars, static arrays and inline tables, none of which may be extended.
    case value(JSON)
    case table(TOMLTable)
    case tableArray(TOMLTableArray)
  }

  var origin: Origin
  let depth: Int
  var keys: [String] = []
  var members: [String: Member] = [:]

  init(origin: Origin, depth: Int) {
    self.origin = origin
    self.depth = depth
  }

  func add(_ key: String, _ member: Member) {
    keys.append(key)
    members[key] = member
  }

  func json() -> JSON {
    var object = JSONObject()
    for key in keys {
      switch members[key]! {
      case .value(let value): object.set(key, value)
      case .table(let table): object.set(key, table.json())
      case .tableArray(let array): object.set(key, .array(array.tables.map { $0.json() }))
      }
    }
    return .object(object)
  }
}

/// The tables `[[name]]` headers append to.
private final class TOMLTableArray {
  var tables: [TOMLTable]
  init(_ first: TOMLTable) { tables = [first] }
}

// MARK: - The parser

private enum Byte {
  static let tab: UInt8 = 0x09
  static let lf: UInt8 = 0x0A
  static let cr: UInt8 = 0x0D
  static let space: UInt8 = 0x20
  static let quote = UInt8(ascii: "\"")
  static let apostrophe = UInt8(ascii: "'")
  static let backslash = UInt8(ascii: "\\")
  static let hash = UInt8(ascii: "#")
  static let equals = UInt8(ascii: "=")
  static let dot = UInt8(ascii: ".")
  static let comma = UInt8(ascii: ",")
  static let openBracket = UInt8(ascii: "[")
  static let closeBracket = UInt8(ascii: "]")
  static let openBrace = UInt8(ascii: "{")
  static let closeBrace = UInt8(ascii: "}")
  static let underscore = UInt8(ascii: "_")
  static let minus = UInt8(ascii: "-")
  static let plus = UInt8(ascii: "+")
  static let colon = UInt8(ascii: ":")
}

@inline(__always) private func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

@inline(__always) private func isHexDigit(_ b: UInt8) -> Bool {
  isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
}

@inline(__always) private func isBareKeyByte(_ b: UInt8) -> Bool {
  (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || isDigit(b) || b == Byte.underscore || b == Byte.minus
}

/// Control characters TOML forbids in strings and comments (tab is allowed; newlines are handled by the callers).
@inline(__always) private func isForbiddenControl(_ b: UInt8) -> Bool {
  (b < 0x20 && b != Byte.tab) || b == 0x7F
}

/// Appends `key` to a JSON Pointer with RFC 6901 escaping (`~` -> `~0`, `/` -> `~1`).
private func pointer(_ base: String, _ key: String) -> String {
  var out = base
  out.append("/")
  if key.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) {
    for c in key.unicodeScalars {
      switch c {
      case "~": out.append("~0")
      case "/": out.append("~1")
      default: out.unicodeScalars.append(c)
      }
    }
  } else {
    out.append(key)
  }
  return out
}

private struct TOMLByteParser {
  let b: [UInt8]
  var i = 0
  /// After an optional BOM; columns on line 1 are counted from here.
  var textStart = 0

  let tracking: Bool
  var locations: [String: Int] = [:]
  var lineCursor = 0
  var lineAtCursor = 1

  init(_ bytes: [UInt8], tracking: Bool) {
    b = bytes
    self.tracking = tracking
  }

  // MARK: Errors and locations

  func error(_ message: String, at offset: Int? = nil) -> TOMLParseError {
    let target = min(offset ?? i, b.count)
    var line = 1
    var lineStart = textStart
    var j = textStart
    while j < target {
      if b[j] == Byte.lf {
        line += 1
        lineStart = j + 1
      }
      j += 1
    }
    var column = 1
    j = lineStart
    while j < target {
      if b[j] & 0xC0 != 0x80 { column += 1 }
      j += 1
    }
    return TOMLParseError(line: line, column: column, message: message)
  }

  mutating func record(_ path: String, at offset: Int) {
    guard tracking else { return }
    if offset < lineCursor {
      lineCursor = textStart
      lineAtCursor = 1
    }
    while lineCursor < offset {
      if b[lineCursor] == Byte.lf { lineAtCursor += 1 }
      lineCursor += 1
    }
    locations[path] = lineAtCursor
  }

  @inline(__always) func at(_ j: Int) -> UInt8? { j < b.count ? b[j] : nil }

  // MARK: Document

  mutating func parseDocument() throws(TOMLParseError) -> JSON {
    if b.count >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
      i = 3
      textStart = 3
    }
    try validateUTF8()
    let root = TOMLTable(origin: .header, depth: 0)
    record("", at: textStart)
    var current = root
    var currentPointer = ""
    while true {
      skipWhitespace()
      guard let c = at(i) else { break }
      switch c {
      case Byte.hash, Byte.lf, Byte.cr:
        try endOfLine()
      case Byte.openBracket:
        (current, currentPointer) = try parseHeader(root)
        try endOfLine()
      default:
        try parseKeyValue(into: current, pointer: currentPointer)
        try endOfLine()
      }
    }
    return root.json()
  }

  /// Rejects invalid UTF-8 up front (overlong forms, surrogates and values past U+10FFFF included), so strings
  /// can later be decoded from byte slices without checks.
  func validateUTF8() throws(TOMLParseError) {
    var j = textStart
    while j < b.count {
      let lead = b[j]
      if lead < 0x80 {
        j += 1
        continue
      }
      var length = 0
      var minimum: UInt32 = 0
      var scalar: UInt32 = 0
      switch lead {
      case 0xC2...0xDF: length = 2; minimum = 0x80; scalar = UInt32(lead & 0x1F)
      case 0xE0...0xEF: length = 3; minimum = 0x800; scalar = UInt32(lead & 0x0F)
      case 0xF0...0xF4: length = 4; minimum = 0x10000; scalar = UInt32(lead & 0x07)
      default: throw error("invalid UTF-8", at: j)
      }
      guard j + length <= b.count else { throw error("invalid UTF-8", at: j) }
      for k in 1..<length {
        let continuation = b[j + k]
        guard continuation & 0xC0 == 0x80 else { throw error("invalid UTF-8", at: j) }
        scalar = scalar << 6 | UInt32(continuation & 0x3F)
      }
      guard scalar >= minimum, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else {
        throw error("invalid UTF-8", at: j)
      }
      j += length
    }
  }

  mutating func skipWhitespace() {
    while i < b.count && (b[i] == Byte.space || b[i] == Byte.tab) { i += 1 }
  }

  /// Consumes a newline (LF or CRLF) at `i`, if there is one.
  mutating func newline() throws(TOMLParseError) -> Bool {
    guard let c = at(i) else { return false }
    if c == Byte.lf {
      i += 1
      return true
    }
    if c == Byte.cr {
      guard at(i + 1) == Byte.lf else { throw error("carriage return not followed by a line feed") }
      i += 2
      return true
    }
    return false
  }

  mutating func skipComment() throws(TOMLParseError) {
    guard at(i) == Byte.hash else { return }
    i += 1
    while i < b.count {
      let c = b[i]
      if c == Byte.lf || (c == Byte.cr && at(i + 1) == Byte.lf) { return }
      if isForbiddenControl(c) { throw error("control character in a comment") }
      i += 1
    }
  }

  /// After a statement: optional whitespace and comment, then a newline or the end of the document.
  mutating func endOfLine() throws(TOMLParseError) {
    skipWhitespace()
    try skipComment()
    if i >= b.count { return }
    guard try newline() else {
      throw error(isForbiddenControl(b[i]) ? "control character outside a string" : "expected the end of the line")
    }
  }

  /// Whitespace, comments and newlines, as allowed between array elements.
  mutating func skipBlank() throws(TOMLParseError) {
    while true {
      skipWhitespace()
      try skipComment()
      guard try newline() else { return }
    }
  }

  // MARK: Keys

  mutating func parseKey() throws(TOMLParseError) -> [(key: String, offset: Int)] {
    var parts: [(key: String, offset: Int)] = []
    while true {
      skipWhitespace()
      let start = i
      parts.append((try parseSimpleKey(), start))
      if parts.count > TOML.maxDepth { throw error("key has too many parts", at: start) }
      skipWhitespace()
      guard at(i) == Byte.dot else { return parts }
      i += 1
    }
  }

  mutating func parseSimpleKey() throws(TOMLParseError) -> String {
    guard let c = at(i) else { throw error("expected a key") }
    if c == Byte.quote {
      if at(i + 1) == Byte.quote && at(i + 2) == Byte.quote { throw error("a multi-line string cannot be a key") }
      return try parseBasicString()
    }
    if c == Byte.apostrophe {
      if at(i + 1) == Byte.apostrophe && at(i + 2) == Byte.apostrophe {
        throw error("a multi-line string cannot be a key")
      }
      return try parseLiteralString()
    }
    let start = i
    while i < b.count && isBareKeyByte(b[i]) { i += 1 }
    guard i > start else { throw error("expected a key") }
    return String(decoding: b[start..<i], as: UTF8.self)
  }

  // MARK: Statements

  /// `[a.b]` or `[[a.b]]`; returns the table that following key/value pairs go into.
  mutating func parseHeader(_ root: TOMLTable) throws(TOMLParseError) -> (TOMLTable, String) {
    let headerStart = i
    i += 1
    let isArray = at(i) == Byte.openBracket
    if isArray { i += 1 }
    let keys = try parseKey()
    guard at(i) == Byte.closeBracket else { throw error("expected ']' to close the table header") }
    i += 1
    if isArray {
      guard at(i) == Byte.closeBracket else { throw error("expected ']]' to close the array of tables header") }
      i += 1
    }

    var table = root
    var path = ""
    for (key, offset) in keys.dropLast() {
      path = pointer(path, key)
      switch table.members[key] {
      case nil:
        let implied = TOMLTable(origin: .implied, depth: table.depth + 1)
        table.add(key, .table(implied))
        record(path, at: offset)
        table = implied
      case .table(let sub)?:
        table = sub
      case .tableArray(let array)?:
        path.append("/\(array.tables.count - 1)")
        table = array.tables[array.tables.count - 1]
      case .value?:
        throw error("a header cannot extend a key that holds a value", at: offset)
      }
    }
    let (key, offset) = keys[keys.count - 1]
    path = pointer(path, key)
    let depth = table.depth + 1
    if depth > TOML.maxDepth { throw error("tables nested too deeply", at: offset) }
    if isArray {
      let element = TOMLTable(origin: .header, depth: depth)
      switch table.members[key] {
      case nil:
        table.add(key, .tableArray(TOMLTableArray(element)))
        record(path, at: headerStart)
        path.append("/0")
      case .tableArray(let array)?:
        array.tables.append(element)
        path.append("/\(array.tables.count - 1)")
      case .table?:
        throw error("an array of tables cannot reuse the name of a table", at: offset)
      case .value?:
        throw error("an array of tables cannot reuse a key that holds a value", at: offset)
      }
      record(path, at: headerStart)
      return (element, path)
    }
    switch table.members[key] {
    case nil:
      let defined = TOMLTable(origin: .header, depth: depth)
      table.add(key, .table(defined))
      record(path, at: headerStart)
      return (defined, path)
    case .table(let existing)?:
      switch existing.origin {
      case .implied:
        existing.origin = .header
        record(path, at: headerStart)
        return (existing, path)
      case .header, .inline:
        throw error("table defined twice", at: offset)
      case .dotted:
        throw error("table already defined by dotted keys", at: offset)
      }
    case .tableArray?:
      throw error("a table cannot reuse the name of an array of tables", at: offset)
    case .value?:
      throw error("a table cannot reuse a key that holds a value", at: offset)
    }
  }

  /// `key = value` into `table` (whose pointer is `base`).
  mutating func parseKeyValue(into table: TOMLTable, pointer base: String) throws(TOMLParseError) {
    let keys = try parseKey()
    guard at(i) == Byte.equals else { throw error("expected '=' after a key") }
    i += 1
    skipWhitespace()
    // Resolve the place first, so a duplicate key is reported before anything in its value.
    var target = table
    var path = base
    for (key, offset) in keys.dropLast() {
      path = pointer(path, key)
      switch target.members[key] {
      case nil:
        let dotted = TOMLTable(origin: .dotted, depth: target.depth + 1)
        if dotted.depth > TOML.maxDepth { throw error("tables nested too deeply", at: offset) }
        target.add(key, .table(dotted))
        record(path, at: offset)
        target = dotted
      case .table(let sub)? where sub.origin == .dotted:
        target = sub
      case .table?:
        throw error("dotted keys cannot add to a table defined elsewhere", at: offset)
      case .tableArray?:
        throw error("dotted keys cannot add to an array of tables", at: offset)
      case .value?:
        throw error("dotted keys cannot extend a key that holds a value", at: offset)
      }
    }
    let (key, offset) = keys[keys.count - 1]
    guard target.members[key] == nil else { throw error("duplicate key", at: offset) }
    path = pointer(path, key)
    record(path, at: i)
    let value = try parseValue(depth: target.depth + 1, pointer: path)
    target.add(key, .value(value))
  }

  // MARK: Values

  mutating func parseValue(depth: Int, pointer path: String) throws(TOMLParseError) -> JSON {
    guard let c = at(i) else { throw error("expected a value") }
    switch c {
    case Byte.quote:
      if at(i + 1) == Byte.quote && at(i + 2) == Byte.quote { return .string(try parseMultilineBasicString()) }
      return .string(try parseBasicString())
    case Byte.apostrophe:
      if at(i + 1) == Byte.apostrophe && at(i + 2) == Byte.apostrophe {
        return .string(try parseMultilineLiteralString())
      }
      return .string(try parseLiteralString())
    case Byte.openBracket:
      return try parseArray(depth: depth, pointer: path)
    case Byte.openBrace:
      return try parseInlineTable(depth: depth, pointer: path)
    default:
      return try parseBareValue()
    }
  }

  mutating func parseArray(depth: Int, pointer path: String) throws(TOMLParseError) -> JSON {
    if depth > TOML.maxDepth { throw error("arrays nested too deeply") }
    i += 1
    var items: [JSON] = []
    while true {
      try skipBlank()
      if at(i) == Byte.closeBracket {
        i += 1
        return .array(items)
      }
      let elementPath = tracking ? path + "/\(items.count)" : ""
      record(elementPath, at: i)
      items.append(try parseValue(depth: depth + 1, pointer: elementPath))
      try skipBlank()
      switch at(i) {
      case Byte.comma?:
        i += 1
      case Byte.closeBracket?:
        i += 1
        return .array(items)
      case nil:
        throw error("unterminated array")
      default:
        throw error("expected ',' or ']' in an array")
      }
    }
  }

  /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma (TOML 1.0); closed once read.
  mutating func parseInlineTable(depth: Int, pointer path: String) throws(TOMLParseError) -> JSON {
    if depth > TOML.maxDepth { throw error("tables nested too deeply") }
    i += 1
    let table = TOMLTable(origin: .inline, depth: depth)
    skipWhitespace()
    if at(i) == Byte.closeBrace {
      i += 1
      return table.json()
    }
    while true {
      skipWhitespace()
      try parseKeyValue(into: table, pointer: path)
      skipWhitespace()
      switch at(i) {
      case Byte.comma?:
        i += 1
        skipWhitespace()
        if at(i) == Byte.closeBrace { throw error("trailing comma in an inline table") }
      case Byte.closeBrace?:
        i += 1
        return table.json()
      case nil:
        throw error("unterminated inline table")
      case Byte.lf?, Byte.cr?:
        throw error("newline in an inline table")
      default:
        throw error("expected ',' or '}' in an inline table")
      }
    }
  }

  // MARK: Strings

  mutating func parseBasicString() throws(TOMLParseError) -> String {
    i += 1
    var out: [UInt8] = []
    while true {
      guard let c = at(i) else { throw error("unterminated string") }
      switch c {
      case Byte.quote:
        i += 1
        return String(decoding: out, as: UTF8.self)
      case Byte.backslash:
        try parseEscape(into: &out)
      case Byte.lf, Byte.cr:
        throw error("newline in a single-line string")
      default:
        if isForbiddenControl(c) { throw error("control character in a string") }
        out.append(c)
        i += 1
      }
    }
  }

  mutating func parseMultilineBasicString() throws(TOMLParseError) -> String {
    i += 3
    _ = try newline()  // a newline right after the opening quotes is not part of the string
    var out: [UInt8] = []
    while true {
      guard let c = at(i) else { throw error("unterminated multi-line string") }
      switch c {
      case Byte.quote:
        var run = 0
        while at(i + run) == Byte.quote { run += 1 }
        if run >= 3 {
          guard run <= 5 else { throw error("too many quotes at the end of a multi-line string", at: i + 5) }
          out.append(contentsOf: repeatElement(Byte.quote, count: run - 3))
          i += run
          return String(decoding: out, as: UTF8.self)
        }
        out.append(contentsOf: repeatElement(Byte.quote, count: run))
        i += run
      case Byte.backslash:
        // A backslash ending a line (trailing whitespace allowed) removes it and all whitespace that follows.
        var j = i + 1
        while let w = at(j), w == Byte.space || w == Byte.tab { j += 1 }
        if at(j) == Byte.lf || (at(j) == Byte.cr && at(j + 1) == Byte.lf) {
          i = j
          while true {
            skipWhitespace()
            guard try newline() else { break }
          }
        } else {
          try parseEscape(into: &out)
        }
      case Byte.lf:
        out.append(Byte.lf)
        i += 1
      case Byte.cr:
        guard at(i + 1) == Byte.lf else { throw error("carriage return not followed by a line feed") }
        out.append(Byte.lf)
        i += 2
      default:
        if isForbiddenControl(c) { throw error("control character in a string") }
        out.append(c)
        i += 1
      }
    }
  }

  mutating func parseLiteralString() throws(TOMLParseError) -> String {
    i += 1
    let start = i
    while true {
      guard let c = at(i) else { throw error("unterminated string") }
      if c == Byte.apostrophe {
        i += 1
        return String(decoding: b[start..<(i - 1)], as: UTF8.self)
      }
      if c == Byte.lf || c == Byte.cr { throw error("newline in a single-line string") }
      if isForbiddenControl(c) { throw error("control character in a string") }
      i += 1
    }
  }

  mutating func parseMultilineLiteralString() throws(TOMLParseError) -> String {
    i += 3
    _ = try newline()
    var out: [UInt8] = []
    while true {
      guard let c = at(i) else { throw error("unterminated multi-line string") }
      switch c {
      case Byte.apostrophe:
        var run = 0
        while at(i + run) == Byte.apostrophe { run += 1 }
        if run >= 3 {
          guard run <= 5 else { throw error("too many quotes at the end of a multi-line string", at: i + 5) }
          out.append(contentsOf: repeatElement(Byte.apostrophe, count: run - 3))
          i += run
          return String(decoding: out, as: UTF8.self)
        }
        out.append(contentsOf: repeatElement(Byte.apostrophe, count: run))
        i += run
      case Byte.lf:
        out.append(Byte.lf)
        i += 1
      case Byte.cr:
        guard at(i + 1) == Byte.lf else { throw error("carriage return not followed by a line feed") }
        out.append(Byte.lf)
        i += 2
      default:
        if isForbiddenControl(c) { throw error("control character in a string") }
        out.append(c)
        i += 1
      }
    }
  }

  /// An escape at `i` (the backslash) in a basic string.
  mutating func parseEscape(into out: inout [UInt8]) throws(TOMLParseError) {
    let start = i
    guard let c = at(i + 1) else { throw error("unterminated string") }
    i += 2
    switch c {
    case UInt8(ascii: "b"): out.append(0x08)
    case UInt8(ascii: "t"): out.append(Byte.tab)
    case UInt8(ascii: "n"): out.append(Byte.lf)
    case UInt8(ascii: "f"): out.append(0x0C)
    case UInt8(ascii: "r"): out.append(Byte.cr)
    case Byte.quote: out.append(Byte.quote)
    case Byte.backslash: out.append(Byte.backslash)
    case UInt8(ascii: "u"), UInt8(ascii: "U"):
      let digits = c == UInt8(ascii: "u") ? 4 : 8
      var value: UInt32 = 0
      for k in 0..<digits {
        guard let h = at(i + k), isHexDigit(h) else { throw error("\\u needs \(digits) hex digits", at: start) }
        value = value << 4 | UInt32(h <= 0x39 ? h - 0x30 : (h | 0x20) - 0x61 + 10)
      }
      guard let scalar = Unicode.Scalar(value) else { throw error("escape is not a Unicode scalar value", at: start) }
      out.append(contentsOf: String(Character(scalar)).utf8)
      i += digits
    default:
      throw error("invalid escape in a string", at: start)
    }
  }

  // MARK: Booleans, numbers, date-times

  /// A value that is not a string, array or inline table: read as one token, then classified.
  mutating func parseBareValue() throws(TOMLParseError) -> JSON {
    let start = i
    scanToken()
    // A date may be followed by a space and a time: "1979-05-27 07:32:00".
    if i - start == 10 && b[start + 4] == Byte.minus && at(i) == Byte.space,
      let h1 = at(i + 1), isDigit(h1), let h2 = at(i + 2), isDigit(h2), at(i + 3) == Byte.colon
    {
      i += 1
      scanToken()
    }
    let token = b[start..<i]
    guard !token.isEmpty else {
      throw error(i < b.count && isForbiddenControl(b[i]) ? "control character outside a string" : "expected a value")
    }
    switch token.count {
    case 4 where token.elementsEqual("true".utf8): return .bool(true)
    case 5 where token.elementsEqual("false".utf8): return .bool(false)
    default: break
    }
    if let value = TOMLScalar.number(token) { return value }
    if TOMLScalar.isDateTime(token) { return .string(String(decoding: token, as: UTF8.self)) }
    if TOMLScalar.looksLikeInteger(token) { throw error("integer out of range", at: start) }
    let first = token[start]
    let dateLike = token.count > 4 && token[start + 4] == Byte.minus
    let timeLike = token.count > 2 && token[start + 2] == Byte.colon
    if isDigit(first) && (dateLike || timeLike) { throw error("invalid date or time", at: start) }
    if isDigit(first) || first == Byte.plus || first == Byte.minus || first == Byte.dot {
      throw error("invalid number", at: start)
    }
    throw error("invalid value (strings need quotes)", at: start)
  }

  mutating func scanToken() {
    while i < b.count {
      let c = b[i]
      guard isBareKeyByte(c) || c == Byte.plus || c == Byte.dot || c == Byte.colon else { return }
      i += 1
    }
  }
}

/// Classification of bare tokens (numbers and date-times) by the TOML 1.0 ABNF.
private enum TOMLScalar {
  /// Digits with single underscores between them (`1_000`), from `j`; returns the end, or nil if malformed.
  static func digits(_ t: ArraySlice<UInt8>, from j: Int, _ isValid: (UInt8) -> Bool) -> Int? {
    var k = j
    guard k < t.endIndex, isValid(t[k]) else { return nil }
    k += 1
    while k < t.endIndex {
      if t[k] == Byte.underscore {
        guard k + 1 < t.endIndex, isValid(t[k + 1]) else { return nil }
        k += 2
      } else if isValid(t[k]) {
        k += 1
      } else {
        break
      }
    }
    return k
  }

  static func number(_ t: ArraySlice<UInt8>) -> JSON? {
    var j = t.startIndex
    let negative = t[j] == Byte.minus
    let signed = negative || t[j] == Byte.plus
    if signed { j += 1 }
    let rest = t[j...]
    if rest.elementsEqual("inf".utf8) { return .double(negative ? -.infinity : .infinity) }
    if rest.elementsEqual("nan".utf8) { return .double(negative ? -.nan : .nan) }
    guard j < t.endIndex else { return nil }

    // Hex, octal, binary: no sign, no leading "+".
    if t[j] == UInt8(ascii: "0"), j + 1 < t.endIndex {
      let radix: Int64
      let valid: (UInt8) -> Bool
      switch t[j + 1] {
      case UInt8(ascii: "x"): radix = 16; valid = isHexDigit
      case UInt8(ascii: "o"): radix = 8; valid = { $0 >= 0x30 && $0 <= 0x37 }
      case UInt8(ascii: "b"): radix = 2; valid = { $0 == 0x30 || $0 == 0x31 }
      default: radix = 0; valid = { _ in false }
      }
      if radix != 0 {
        guard !signed, digits(t, from: j + 2, valid) == t.endIndex else { return nil }
        var value: Int64 = 0
        for c in t[(j + 2)...] where c != Byte.underscore {
          let d = Int64(isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10)
          let (shifted, o1) = value.multipliedReportingOverflow(by: radix)
          let (sum, o2) = shifted.addingReportingOverflow(d)
          if o1 || o2 { return nil }
          value = sum
        }
        return .int(value)
      }
    }

    // Decimal integer part: "0" alone, or no leading zero.
    guard let intEnd = digits(t, from: j, isDigit) else { return nil }
    if t[j] == UInt8(ascii: "0") && intEnd - j > 1 { return nil }
    var k = intEnd
    var isFloat = false
    if k < t.endIndex && t[k] == Byte.dot {
      guard let fracEnd = digits(t, from: k + 1, isDigit) else { return nil }
      k = fracEnd
      isFloat = true
    }
    if k < t.endIndex && (t[k] == UInt8(ascii: "e") || t[k] == UInt8(ascii: "E")) {
      var e = k + 1
      if e < t.endIndex && (t[e] == Byte.plus || t[e] == Byte.minus) { e += 1 }
      guard let expEnd = digits(t, from: e, isDigit) else { return nil }
      k = expEnd
      isFloat = true
    }
    guard k == t.endIndex else { return nil }
    let text = String(decoding: t.lazy.filter { $0 != Byte.underscore }, as: UTF8.self)
    if isFloat {
      return Double(text).map(JSON.double)
    }
    return Int64(text).map(JSON.int)
  }

  /// A decimal integer token whose only fault can be its size (so the error can say so).
  static func looksLikeInteger(_ t: ArraySlice<UInt8>) -> Bool {
    var j = t.startIndex
    if t[j] == Byte.minus || t[j] == Byte.plus { j += 1 }
    guard let end = digits(t, from: j, isDigit), end == t.endIndex else { return false }
    return !(t[j] == UInt8(ascii: "0") && end - j > 1)
  }

  /// Offset date-time, local date-time, local date or local time (RFC 3339 with TOML's relaxations: `t`/space
  /// for `T`, `z` for `Z`; seconds required; any number of fraction digits).
  static func isDateTime(_ t: ArraySlice<UInt8>) -> Bool {
    let s = Array(t)
    var k = 0
    func number(_ width: Int) -> Int? {
      guard k + width <= s.count else { return nil }
      var v = 0
      for c in s[k..<(k + width)] {
        guard isDigit(c) else { return nil }
        v = v * 10 + Int(c - 0x30)
      }
      k += width
      return v
    }
    func expect(_ c: UInt8) -> Bool {
      guard k < s.count, s[k] == c else { return false }
      k += 1
      return true
    }
    func time() -> Bool {
      guard let hour = number(2), hour < 24, expect(Byte.colon), let minute = number(2), minute < 60,
        expect(Byte.colon), let second = number(2), second <= 60
      else { return false }
      if k < s.count && s[k] == Byte.dot {
        k += 1
        let start = k
        while k < s.count && isDigit(s[k]) { k += 1 }
        if k == start { return false }
      }
      return true
    }

    if s.count >= 3 && s[2] == Byte.colon { return time() && k == s.count }
    guard let year = number(4), expect(Byte.minus), let month = number(2), (1...12).contains(month),
      expect(Byte.minus), let day = number(2), day >= 1
    else { return false }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    guard day <= days else { return false }
    if k == s.count { return true }
    guard s[k] == UInt8(ascii: "T") || s[k] == UInt8(ascii: "t") || s[k] == Byte.space else { return false }
    k += 1
    guard time() else { return false }
    if k == s.count { return true }
    if s[k] == UInt8(ascii: "Z") || s[k] == UInt8(ascii: "z") { return k + 1 == s.count }
    guard s[k] == Byte.plus || s[k] == Byte.minus else { return false }
    k += 1
    guard let offsetHour = number(2), offsetHour < 24, expect(Byte.colon), let offsetMinute = number(2),
      offsetMinute < 60
    else { return false }
    return k == s.count
  }
}
