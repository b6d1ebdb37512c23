// YAML reader over libyaml's event API (Sources/CYAML), producing `JSON` values, for the MCP clients that keep
// their configuration in YAML (Continue's `config.yaml`, Goose's `~/.config/goose/config.yaml`).
//
// libyaml does the syntax (YAML 1.1 as libyaml reads it, which covers the block and flow styles these files use);
// this file builds the values:
// - mappings -> `.object` in document order; a key is the text of its scalar (`1: x` has key "1"); a key that is a
//   sequence or mapping is an error; a key given twice in one mapping is an error (as the clients' own YAML
//   libraries say: Continue's `yaml` and Goose's serde_yaml both refuse duplicates). Merge keys (`<<: *base`) are
//   not applied: YAML 1.2 has none and neither client applies them, so `<<` stays an ordinary key.
// - sequences -> `.array`.
// - scalars: plain (unquoted) scalars are resolved by the YAML 1.2 core schema: `null`/`Null`/`NULL`/`~`/empty ->
//   `.null`; `true`/`True`/`TRUE`/`false`/... -> `.bool`; `[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+` -> `.int`
//   (past Int64, `.double`, like `JSONParser`); `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, `.inf`,
//   `-.inf`, `.nan` (and their capitalised spellings) -> `.double`; anything else -> `.string`. Quoted and block
//   (`|`, `>`) scalars are always strings. Explicit standard tags are honoured (`!!str 12` is a string, `!!int "12"`
//   an integer, and a value that does not fit its tag is an error); other tags (`!Ref`, `!!binary`, `!!timestamp`)
//   leave the scalar as its text.
// - anchors and aliases are resolved (an alias is a copy of its anchor's value). Against alias bombs ("billion
//   laughs") the expanded size is bounded: every node an alias re-uses counts, and a document whose expansion
//   passes `Options.maxNodes` is refused. An alias to an anchor not yet complete (a cycle) is an error.
// - streams: an empty stream (or only comments) is `.null`; one document is read; a second document is an error
//   ("more than one YAML document"), so a scan never silently skips secrets in later documents.
//
// Errors carry a 1-based line and column and a fixed message (libyaml's own problem text, which names the
// construct, never the content); no text from the document is ever echoed, since config values are often secrets.

import CYAML

/// A YAML parse failure. The message never contains text from the document.
public struct YAMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
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

public enum YAML {
  public struct Options: Sendable {
    /// Most nodes the document may expand to, aliases counted at their full size (stops "billion laughs").
    public var maxNodes: Int
    /// Deepest nesting of sequences and mappings (the `JSON` value is freed recursively).
    public var maxDepth: Int

    public init(maxNodes: Int = 1_000_000, maxDepth: Int = 256) {
      self.maxNodes = maxNodes
      self.maxDepth = maxDepth
    }
  }

  public static func parse(_ text: String, options: Options = Options()) throws(YAMLParseError) -> JSON {
    try parse(bytes: Array(text.utf8), options: options)
  }

  /// Parses raw file bytes (UTF-8, or UTF-16 with a BOM, as libyaml detects).
  public static func parse(bytes: [UInt8], options: Options = Options()) throws(YAMLParseError) -> JSON {
    var builder = YAMLBuilder(options: options, tracking: false)
    try builder.run(bytes)
    return builder.root ?? .null
  }

  /// Also returns the 1-based line where each value starts, keyed by JSON Pointer (RFC 6901, as
  /// `JSONParser.parseWithLocations`): "" is the root, "/mcpServers/0/env/GITHUB_TOKEN". For an alias the line is
  /// the alias's own; the members of the value it copies are not listed again under the alias's pointer.
  public static func parseWithLocations(_ text: String, options: Options = Options()) throws(YAMLParseError)
    -> (JSON, [String: Int])
  {
    try parseWithLocations(bytes: Array(text.utf8), options: options)
  }

  public static func parseWithLocations(bytes: [UInt8], options: Options = Options()) throws(YAMLParseError)
    -> (JSON, [String: Int])
  {
    var builder = YAMLBuilder(options: options, tracking: true)
    try builder.run(bytes)
    return (builder.root ?? .null, builder.locations)
  }
}

// MARK: - Building values from events

private struct YAMLBuilder {
  /// A sequence or mapping being read.
  struct Frame {
    var isMapping: Bool
    var items: [JSON] = []
    var object = JSONObject()
    /// In a mapping, the key read and waiting for its value.
    var pendingKey: String? = nil
    var pointer: String
    var anchor: String?
    /// Nodes in this subtree, itself included, aliases at their full size.
    var nodes = 1
  }

  struct Anchored {
    var value: JSON
    var nodes: Int
    /// The scalar's own text, when the anchored node is a scalar (so an alias to it can be a mapping key).
    var keyText: String?
  }

  let options: YAML.Options
  let tracking: Bool
  var root: JSON? = nil
  var locations: [String: Int] = [:]
  var stack: [Frame] = []
  var anchors: [String: Anchored] = [:]
  var totalNodes = 0
  var documents = 0

  init(options: YAML.Options, tracking: Bool) {
    self.options = options
    self.tracking = tracking
  }

  mutating func run(_ bytes: [UInt8]) throws(YAMLParseError) {
    if bytes.isEmpty { return }
    let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
    defer {
      parser.deallocate()
      event.deallocate()
    }
    guard yaml_parser_initialize(parser) == 1 else {
      throw YAMLParseError(line: 1, column: 1, message: "cannot start the YAML parser (out of memory)")
    }
    defer { yaml_parser_delete(parser) }

    let result = bytes.withUnsafeBufferPointer { buffer in
      Result<Void, YAMLParseError> { () throws(YAMLParseError) in
        yaml_parser_set_input_string(parser, buffer.baseAddress!, buffer.count)
        while true {
          guard yaml_parser_parse(parser, event) == 1 else { throw Self.parserError(parser.pointee, buffer) }
          defer { yaml_event_delete(event) }
          if event.pointee.type == YAML_STREAM_END_EVENT { return }
          try handle(event.pointee)
        }
      }
    }
    try result.get()
  }

  // MARK: Events

  mutating func handle(_ event: yaml_event_t) throws(YAMLParseError) {
    let mark = event.start_mark
    switch event.type {
    case YAML_DOCUMENT_START_EVENT:
      documents += 1
      if documents > 1 {
        throw error("more than one YAML document in the file (only single-document files are read)", at: mark)
      }

    case YAML_SCALAR_EVENT:
      let scalar = event.data.scalar
      let text =
        scalar.length == 0
        ? "" : String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
      let anchor = scalar.anchor.map { String(cString: $0) }
      if isKeyPosition {
        try takeKey(text, at: mark)
        if let anchor { anchors[anchor] = Anchored(value: .string(text), nodes: 1, keyText: text) }
        return
      }
      let tag = scalar.tag.map { String(cString: $0) }
      let value = try resolve(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE, tag: tag, at: mark)
      try add(value, nodes: 1, at: mark)
      if let anchor { anchors[anchor] = Anchored(value: value, nodes: 1, keyText: text) }

    case YAML_ALIAS_EVENT:
      let name = String(cString: event.data.alias.anchor)
      guard let anchored = anchors[name] else {
        throw error("alias to an anchor that is not defined before it (or contains it)", at: mark)
      }
      if isKeyPosition {
        guard let keyText = anchored.keyText else { throw error("a mapping key must be a scalar", at: mark) }
        try takeKey(keyText, at: mark)
        return
      }
      try add(anchored.value, nodes: anchored.nodes, at: mark)

    case YAML_SEQUENCE_START_EVENT:
      try open(isMapping: false, anchor: event.data.sequence_start.anchor.map { String(cString: $0) }, at: mark)

    case YAML_MAPPING_START_EVENT:
      try open(isMapping: true, anchor: event.data.mapping_start.anchor.map { String(cString: $0) }, at: mark)

    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      let frame = stack.removeLast()
      let value: JSON = frame.isMapping ? .object(frame.object) : .array(frame.items)
      if let anchor = frame.anchor { anchors[anchor] = Anchored(value: value, nodes: frame.nodes, keyText: nil) }
      place(value, nodes: frame.nodes)

    default:  // stream start, document end
      break
    }
  }

  var isKeyPosition: Bool {
    guard let top = stack.last else { return false }
    return top.isMapping && top.pendingKey == nil
  }

  mutating func takeKey(_ key: String, at mark: yaml_mark_t) throws(YAMLParseError) {
    let top = stack.count - 1
    guard stack[top].object[key] == nil else { throw error("duplicate key in a mapping", at: mark) }
    stack[top].pendingKey = key
  }

  /// The pointer of the node about to be added to the innermost open collection.
  var childPointer: String {
    guard let top = stack.last else { return "" }
    if top.isMapping { return appendPointer(top.pointer, top.pendingKey!) }
    return top.pointer + "/\(top.items.count)"
  }

  /// Notes the line of the node about to be added and returns its pointer (pointers are only kept when tracking).
  mutating func record(at mark: yaml_mark_t) -> String {
    guard tracking else { return "" }
    let path = childPointer
    locations[path] = mark.line + 1
    return path
  }

  mutating func count(_ nodes: Int, at mark: yaml_mark_t) throws(YAMLParseError) {
    totalNodes += nodes
    if totalNodes > options.maxNodes {
      throw error("the document expands to more than \(options.maxNodes) nodes (aliases counted in full)", at: mark)
    }
  }

  mutating func open(isMapping: Bool, anchor: String?, at mark: yaml_mark_t) throws(YAMLParseError) {
    if isKeyPosition { throw error("a mapping key must be a scalar", at: mark) }
    if stack.count >= options.maxDepth { throw error("nesting deeper than \(options.maxDepth) levels", at: mark) }
    try count(1, at: mark)
    let path = record(at: mark)
    stack.append(Frame(isMapping: isMapping, pointer: path, anchor: anchor))
  }

  /// A finished scalar or alias value.
  mutating func add(_ value: JSON, nodes: Int, at mark: yaml_mark_t) throws(YAMLParseError) {
    try count(nodes, at: mark)
    _ = record(at: mark)
    place(value, nodes: nodes)
  }

  /// Puts a finished value into the innermost open collection (or makes it the root).
  mutating func place(_ value: JSON, nodes: Int) {
    guard !stack.isEmpty else {
      root = value
      return
    }
    let top = stack.count - 1
    stack[top].nodes += nodes
    if stack[top].isMapping {
      stack[top].object.set(stack[top].pendingKey!, value)
      stack[top].pendingKey = nil
    } else {
      stack[top].items.append(value)
    }
  }

  // MARK: Scalars

  func resolve(_ text: String, plain: Bool, tag: String?, at mark: yaml_mark_t) throws(YAMLParseError) -> JSON {
    let standard = "tag:yaml.org,2002:"
    guard let tag else { return plain ? YAMLCoreSchema.resolve(text) : .string(text) }
    guard tag.hasPrefix(standard) else { return .string(text) }
    switch tag.dropFirst(standard.count) {
    case "str":
      return .string(text)
    case "null":
      guard YAMLCoreSchema.resolve(text) == .null else { throw error("value does not fit its !!null tag", at: mark) }
      return .null
    case "bool":
      guard case .bool(let b) = YAMLCoreSchema.resolve(text) else {
        throw error("value does not fit its !!bool tag", at: mark)
      }
      return .bool(b)
    case "int":
      let value = YAMLCoreSchema.resolve(text)
      switch value {
      case .int: return value
      case .double(let d) where YAMLCoreSchema.isIntegerText(text): return .double(d)
      default: throw error("value does not fit its !!int tag", at: mark)
      }
    case "float":
      switch YAMLCoreSchema.resolve(text) {
      case .int(let i): return .double(Double(i))
      case .double(let d): return .double(d)
      default: throw error("value does not fit its !!float tag", at: mark)
      }
    default:
      return .string(text)
    }
  }

  // MARK: Errors

  func error(_ message: String, at mark: yaml_mark_t) -> YAMLParseError {
    YAMLParseError(line: mark.line + 1, column: mark.column + 1, message: message)
  }

  static func parserError(_ parser: yaml_parser_t, _ bytes: UnsafeBufferPointer<UInt8>) -> YAMLParseError {
    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
    switch parser.error {
    case YAML_MEMORY_ERROR:
      return YAMLParseError(line: 1, column: 1, message: "out of memory")
    case YAML_READER_ERROR:
      // Encoding problems come with a byte offset, not a mark.
      let offset = min(parser.problem_offset, bytes.count)
      var line = 1
      var column = 1
      for b in bytes[0..<offset] {
        if b == 0x0A {
          line += 1
          column = 1
        } else if b & 0xC0 != 0x80 {
          column += 1
        }
      }
      return YAMLParseError(line: line, column: column, message: problem)
    default:
      let mark = parser.problem_mark
      let message = parser.context.map { "\(problem) (\(String(cString: $0)))" } ?? problem
      return YAMLParseError(line: mark.line + 1, column: mark.column + 1, message: message)
    }
  }
}

private func appendPointer(_ base: String, _ key: String) -> String {
  var out = base
  out.append("/")
  for c in key.unicodeScalars {
    switch c {
    case "~": out.append("~0")
    case "/": out.append("~1")
    default: out.unicodeScalars.append(c)
    }
  }
  return out
}

/// The YAML 1.2 core schema's resolution of plain scalars (https://yaml.org/spec/1.2.2/#1023-core-schema).
enum YAMLCoreSchema {
  static func resolve(_ text: String) -> JSON {
    let t = Array(text.utf8)
    switch text {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE": return .bool(true)
    case "false", "False", "FALSE": return .bool(false)
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
    case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
    case ".nan", ".NaN", ".NAN": return .double(.nan)
    default: break
    }
    guard let first = t.first, first < 0x80, first != UInt8(ascii: " ") else { return .string(text) }
    if t.count > 2 && t[0] == UInt8(ascii: "0") && (t[1] == UInt8(ascii: "x") || t[1] == UInt8(ascii: "o")) {
      let hex = t[1] == UInt8(ascii: "x")
      let digits = t[2...]
      let valid = digits.allSatisfy { hex ? isHex($0) : ($0 >= 0x30 && $0 <= 0x37) }
      guard valid else { return .string(text) }
      if let value = Int64(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 8) { return .int(value) }
      return .double(digits.reduce(0.0) { $0 * (hex ? 16 : 8) + Double(hexValue($1)) })
    }
    if isIntegerText(text) {
      if let value = Int64(text) { return .int(value) }
      return Double(text).map(JSON.double) ?? .string(text)
    }
    if isFloatText(t) {
      var normal = text
      // "1." and ".5" are core-schema floats; spell them so any strtod takes them.
      if normal.hasSuffix(".") { normal += "0" }
      if let dot = normal.firstIndex(of: "."),
        dot == normal.startIndex || "+-".contains(normal[normal.index(before: dot)])
      {
        normal.insert("0", at: dot)
      }
      if let value = Double(normal) { return .double(value) }
    }
    return .string(text)
  }

  /// `[-+]?[0-9]+`
  static func isIntegerText(_ text: String) -> Bool {
    var digits = Substring(text)
    if let c = digits.first, c == "-" || c == "+" { digits = digits.dropFirst() }
    return !digits.isEmpty && digits.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
  }

  /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
  static func isFloatText(_ t: [UInt8]) -> Bool {
    var k = 0
    func digitRun() -> Int {
      let start = k
      while k < t.count && t[k] >= 0x30 && t[k] <= 0x39 { k += 1 }
      return k - start
    }
    if k < t.count && (t[k] == UInt8(ascii: "-") || t[k] == UInt8(ascii: "+")) { k += 1 }
    if k < t.count && t[k] == UInt8(ascii: ".") {
      k += 1
      guard digitRun() > 0 else { return false }
    } else {
      guard digitRun() > 0 else { return false }
      if k < t.count && t[k] == UInt8(ascii: ".") {
        k += 1
        _ = digitRun()
      }
    }
    if k < t.count && (t[k] == UInt8(ascii: "e") || t[k] == UInt8(ascii: "E")) {
      k += 1
      if k < t.count && (t[k] == UInt8(ascii: "-") || t[k] == UInt8(ascii: "+")) { k += 1 }
      guard digitRun() > 0 else { return false }
    }
    return k == t.count
  }

  private static func isHex(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66)
  }

  private static func hexValue(_ b: UInt8) -> Int {
    b <= 0x39 ? Int(b) - 0x30 : Int(b | 0x20) - 0x61 + 10
  }
}
