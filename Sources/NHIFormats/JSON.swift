// JSON value model and deterministic serializer. Standard library only (no Foundation) so the
// tool starts fast; output is byte-for-byte stable so it can be diffed, hashed and snapshot-tested.
import NHIBasics

/// A JSON value. Integers that fit Int64 stay exact (`.int`); every other number is a `.double`.
public enum JSON: Sendable, Equatable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSON])
  case object(JSONObject)
}

/// A JSON object that keeps keys in insertion order (so re-serialising a parsed file keeps its layout).
///
/// Small objects look keys up linearly, which beats hashing for the handful of keys typical config
/// entries and ndjson rows have; past `indexThreshold` members a hash index keeps lookups O(1).
/// Equality is order-sensitive, matching what `serialized()` would print.
public struct JSONObject: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
  public typealias Element = (key: String, value: JSON)

  private var storedKeys: [String] = []
  private var storedValues: [JSON] = []
  private var index: [String: Int]? = nil
  private static let indexThreshold = 16

  public init() {}

  /// Builds an object from pairs; for a repeated key the last value wins (at the first key's position).
  public init(_ pairs: [(String, JSON)]) {
    storedKeys.reserveCapacity(pairs.count)
    storedValues.reserveCapacity(pairs.count)
    for (key, value) in pairs { set(key, value) }
  }

  public init(dictionaryLiteral elements: (String, JSON)...) {
    self.init(elements)
  }

  public var keys: [String] { storedKeys }
  public var values: [JSON] { storedValues }
  public var count: Int { storedKeys.count }
  public var isEmpty: Bool { storedKeys.isEmpty }

  /// Get a member; assigning nil removes it (use `.null` to store a JSON null).
  public subscript(key: String) -> JSON? {
    get { position(of: key).map { storedValues[$0] } }
    set {
      if let newValue { set(key, newValue) } else { removeValue(forKey: key) }
    }
  }

  @discardableResult
  public mutating func removeValue(forKey key: String) -> JSON? {
    guard let i = position(of: key) else { return nil }
    storedKeys.remove(at: i)
    let removed = storedValues.remove(at: i)
    if index != nil {
      // Positions after `i` shifted; rebuilding is O(n) but removal is rare.
      if count > Self.indexThreshold { rebuildIndex() } else { index = nil }
    }
    return removed
  }

  /// Insert or replace (replacement keeps the key's original position).
  package mutating func set(_ key: String, _ value: JSON) { _ = set(key, value, replacing: true) }

  /// Like `set`; when the key is already there and `replacing` is off, changes nothing and returns false.
  package mutating func set(_ key: String, _ value: JSON, replacing: Bool) -> Bool {
    if let i = position(of: key) {
      if replacing { storedValues[i] = value }
      return replacing
    }
    storedKeys.append(key)
    storedValues.append(value)
    if index != nil {
      index![key] = storedKeys.count - 1
    } else if storedKeys.count > Self.indexThreshold {
      rebuildIndex()
    }
    return true
  }

  private func position(of key: String) -> Int? {
    if let index { return index[key] }
    return storedKeys.firstIndex(of: key)
  }

  private mutating func rebuildIndex() {
    var map = [String: Int](minimumCapacity: storedKeys.count)
    for (i, key) in storedKeys.enumerated() { map[key] = i }
    index = map
  }

  // The index is a cache; only the ordered contents matter for equality.
  public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
    lhs.storedKeys == rhs.storedKeys && lhs.storedValues == rhs.storedValues
  }

  public struct Iterator: IteratorProtocol {
    private let keys: [String]
    private let values: [JSON]
    private var i = 0
    fileprivate init(keys: [String], values: [JSON]) {
      self.keys = keys
      self.values = values
    }
    public mutating func next() -> (key: String, value: JSON)? {
      guard i < keys.count else { return nil }
      defer { i += 1 }
      return (keys[i], values[i])
    }
  }

  public func makeIterator() -> Iterator { Iterator(keys: storedKeys, values: storedValues) }
}

// MARK: - Convenience accessors

extension JSON {
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// `.int`, or a `.double` holding an exactly representable integer (e.g. parsed from `1e3`).
  public var intValue: Int64? {
    switch self {
    case .int(let v): return v
    case .double(let d): return Int64(exactly: d)
    default: return nil
    }
  }

  public var doubleValue: Double? {
    switch self {
    case .int(let v): return Double(v)
    case .double(let d): return d
    default: return nil
    }
  }

  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  public var arrayValue: [JSON]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var objectValue: JSONObject? {
    if case .object(let o) = self { return o }
    return nil
  }

  public var isNull: Bool { self == .null }

  /// Member of an object; nil if this is not an object or the key is missing.
  public subscript(key: String) -> JSON? { objectValue?[key] }

  /// Element of an array; nil if this is not an array or the index is out of range.
  public subscript(index: Int) -> JSON? {
    guard case .array(let a) = self, a.indices.contains(index) else { return nil }
    return a[index]
  }
}

// MARK: - Literals

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
  ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
  ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(arrayLiteral elements: JSON...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(JSONObject(elements)) }
  public init(nilLiteral: ()) { self = .null }
}

extension JSON: CustomStringConvertible {
  public var description: String { serialized() }
}

// MARK: - Serialization

extension JSON {
  /// Deterministic JSON text. Compact form has no spaces; pretty form uses 2-space indents and `": "`.
  /// `sortedKeys` orders members by UTF-8 bytes (code point order), independent of locale.
  /// `escapeHTML` also escapes `<`, `>` and `&` so the text can sit inside an HTML `<script>`.
  public func serialized(pretty: Bool = false, sortedKeys: Bool = false, escapeHTML: Bool = false) -> String {
    var writer = JSONWriter(pretty: pretty, sortedKeys: sortedKeys, escapeHTML: escapeHTML)
    writer.write(self, depth: 0)
    return String(decoding: writer.out, as: UTF8.self)
  }
}

/// Writes into a byte buffer; the String is created once at the end. Audit snapshots and canonical entries are
/// written through it directly (Sources/NHI/Audit/SnapshotText.swift), in the same bytes `serialized()` gives.
package struct JSONWriter {
  package let pretty: Bool
  package let sortedKeys: Bool
  package let escapeHTML: Bool
  package var out: [UInt8] = []

  package init(pretty: Bool, sortedKeys: Bool, escapeHTML: Bool) {
    self.pretty = pretty
    self.sortedKeys = sortedKeys
    self.escapeHTML = escapeHTML
    out.reserveCapacity(256)
  }

  package mutating func write(_ value: JSON, depth: Int) {
    switch value {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .int(let i): out.append(contentsOf: String(i).utf8)
    case .double(let d):
      // Swift's shortest round-trip form ("1.5", "1e-05", "1e+16") is valid JSON; JSON has no inf/nan.
      out.append(contentsOf: (d.isFinite ? d.description : "null").utf8)
    case .string(let s): writeString(s)
    case .array(let items):
      guard !items.isEmpty else { return out.append(contentsOf: "[]".utf8) }
      out.append(UInt8(ascii: "["))
      for (i, item) in items.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(depth + 1)
        write(item, depth: depth + 1)
      }
      newline(depth)
      out.append(UInt8(ascii: "]"))
    case .object(let object):
      guard !object.isEmpty else { return out.append(contentsOf: "{}".utf8) }
      let keys = object.keys
      let values = object.values
      var order = Array(keys.indices)
      if sortedKeys {
        order.sort { keys[$0].utf8.lexicographicallyPrecedes(keys[$1].utf8) }
      }
      out.append(UInt8(ascii: "{"))
      for (n, i) in order.enumerated() {
        if n > 0 { out.append(UInt8(ascii: ",")) }
        newline(depth + 1)
        writeString(keys[i])
        out.append(UInt8(ascii: ":"))
        if pretty { out.append(UInt8(ascii: " ")) }
        write(values[i], depth: depth + 1)
      }
      newline(depth)
      out.append(UInt8(ascii: "}"))
    }
  }

  private mutating func newline(_ depth: Int) {
    guard pretty else { return }
    out.append(UInt8(ascii: "\n"))
    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
  }

  /// Text that is already JSON (a key with its quotes, punctuation), copied as it is.
  package mutating func raw(_ s: StaticString) {
    out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
  }

  package mutating func writeString(_ string: String) {
    let html = escapeHTML
    string.withUTF8Bytes { JSONEscaping.append($0, quoted: true, html: html, to: &out) }
  }
}

/// JSON string escaping, defined once: `JSONWriter` (the value model, audit snapshots) and `OutputBytes` (the
/// streamed check and report records) both write strings through `append`, so the two cannot drift.
package enum JSONEscaping {
  /// Appends `bytes` (UTF-8) as JSON string text, between quotes when `quoted` (strings written one after another
  /// inside one pair of quotes read as their concatenation: escaping is per character). Compact: `\"` `\\` `\n`
  /// `\r` `\t` `\b` `\f`, other control characters as `\u00XX`, U+2028/U+2029 as `\u2028`/`\u2029`; with `html`
  /// also `<` `>` `&` as `\u003c` `\u003e` `\u0026`, so the text can sit inside an HTML `<script>`.
  @inline(__always)
  package static func append(_ bytes: UnsafeBufferPointer<UInt8>, quoted: Bool, html: Bool, to out: inout [UInt8]) {
    var escapes = 0
    for b in bytes where needsEscape(b, html: html) { escapes += 1 }
    if quoted { out.append(UInt8(ascii: "\"")) }
    if escapes == 0 {
      out.append(contentsOf: bytes)
      if quoted { out.append(UInt8(ascii: "\"")) }
      return
    }
    // Room for the worst case (an escape writes at most 6 bytes for each byte it replaces), written through a
    // pointer and trimmed: one growth per string instead of one append per run between escapes and one per
    // escape (per-byte appends dominated profiles; the audit log's canonical text escapes every quote of the
    // snapshot it carries).
    let start = out.count
    out.append(contentsOf: repeatElement(0, count: bytes.count + escapes * 5 + 1))
    let end = out.withUnsafeMutableBufferPointer { buffer -> Int in
      let dst = buffer.baseAddress!
      let hex: StaticString = "0123456789abcdef"
      var j = start
      @inline(__always) func put(_ c: UInt8) { dst[j] = c; j += 1 }
      @inline(__always) func put(_ a: UInt8, _ c: UInt8) { dst[j] = a; dst[j + 1] = c; j += 2 }
      func unicodeEscape(_ unit: UInt16) {
        put(UInt8(ascii: "\\"), UInt8(ascii: "u"))
        put(hex.utf8Start[Int(unit >> 12)], hex.utf8Start[Int((unit >> 8) & 0xF)])
        put(hex.utf8Start[Int((unit >> 4) & 0xF)], hex.utf8Start[Int(unit & 0xF)])
      }
      var i = 0
      while i < bytes.count {
        let b = bytes[i]
        i += 1
        guard needsEscape(b, html: html) else { put(b); continue }
        switch b {
        case UInt8(ascii: "\""): put(UInt8(ascii: "\\"), UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): put(UInt8(ascii: "\\"), UInt8(ascii: "\\"))
        case 0x0A: put(UInt8(ascii: "\\"), UInt8(ascii: "n"))
        case 0x0D: put(UInt8(ascii: "\\"), UInt8(ascii: "r"))
        case 0x09: put(UInt8(ascii: "\\"), UInt8(ascii: "t"))
        case 0x08: put(UInt8(ascii: "\\"), UInt8(ascii: "b"))
        case 0x0C: put(UInt8(ascii: "\\"), UInt8(ascii: "f"))
        // U+2028/U+2029 (E2 80 A8/A9) are line terminators in JavaScript source; escape them so
        // the output is safe to embed in a script.
        case 0xE2:
          if i + 1 < bytes.count && bytes[i] == 0x80 && (bytes[i + 1] == 0xA8 || bytes[i + 1] == 0xA9) {
            unicodeEscape(bytes[i + 1] == 0xA8 ? 0x2028 : 0x2029)
            i += 2
          } else {
            put(b)
          }
        default: unicodeEscape(UInt16(b))  // other control characters, and < > & with html
        }
      }
      if quoted { put(UInt8(ascii: "\"")) }
      return j
    }
    out.removeLast(out.count - end)
  }

  @inline(__always)
  private static func needsEscape(_ b: UInt8, html: Bool) -> Bool {
    b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0xE2
      || (html && (b == UInt8(ascii: "<") || b == UInt8(ascii: ">") || b == UInt8(ascii: "&")))
  }
}

extension String {
  /// The string's UTF-8 bytes without copying the string into a `var` first (`String.withUTF8` is mutating, and
  /// the copy cost a uniqueness check and retain per call: 2% of `check --format json`).
  @inlinable @inline(__always)
  package func withUTF8Bytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
    var copy = self
    return try copy.withUTF8(body)
  }
}
