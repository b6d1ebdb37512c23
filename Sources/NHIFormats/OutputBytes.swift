import NHIBasics

/// A record's output built as bytes: JSON, CSV and XML text written field by field in its final order, without a
/// `JSONObject` or an array of cells per record. Every function here writes exactly what the value model writes
/// (`JSON.serialized()`, `CSVWriter.line`, `Render.csvCell`, `XML.escape`): strings are escaped by the same one
/// escaper per format (`JSONEscaping`, `CSVWriter.appendField` + `CSVFormula`, `XML.append`), and
/// Tests/NHITests/EscapingTests.swift holds the two paths to that.
///
/// The small appends are inlinable: the renderers (NHIOutput) call them per byte and per field, across the module
/// boundary (a call each was most of the layered build's extra instructions in the table reports, issue 13).
package struct OutputBytes {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 1 << 12) { bytes.reserveCapacity(capacity) }

    @inlinable package var count: Int { bytes.count }

    package mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    // Disfavoured so that a literal goes to the StaticString overload (no String made for it).
    @_disfavoredOverload
    @inlinable package mutating func append(_ text: String) {
        text.withUTF8Bytes { bytes.append(contentsOf: $0) }
    }

    @inlinable package mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inlinable @inline(__always) package mutating func append(_ byte: UInt8) { bytes.append(byte) }

    /// `count` copies of `byte` (a table's padding), appended at once rather than a call per byte.
    @inlinable package mutating func append(_ byte: UInt8, count: Int) {
        if count > 0 { bytes.append(contentsOf: repeatElement(byte, count: count)) }
    }

    @inlinable package mutating func append(contentsOf other: [UInt8]) { bytes.append(contentsOf: other) }

    package mutating func int(_ value: Int64) {
        if value < 0 {
            bytes.append(UInt8(ascii: "-"))
            // The magnitude as unsigned: Int64.min has no positive counterpart.
            return unsigned(value == .min ? UInt64(Int64.max) + 1 : UInt64(-value))
        }
        unsigned(UInt64(value))
    }

    package mutating func unsigned(_ value: UInt64) {
        let start = bytes.count
        var v = value
        repeat { bytes.append(UInt8(48 + v % 10)); v /= 10 } while v > 0
        bytes[start...].reverse()
    }

    // MARK: JSON

    /// A JSON string as `JSON.serialized()` writes it (compact, no HTML escaping): `JSONEscaping`, shared with it.
    package mutating func jsonString(_ string: String) {
        string.withUTF8Bytes { JSONEscaping.append($0, quoted: true, html: false, to: &bytes) }
    }

    /// A JSON string's text without its quotes: strings written one after another inside one pair of quotes
    /// read as their concatenation (escaping is per character).
    package mutating func jsonStringBody(_ string: String) {
        string.withUTF8Bytes { JSONEscaping.append($0, quoted: false, html: false, to: &bytes) }
    }

    package mutating func jsonString(_ string: String?) {
        if let string { jsonString(string) } else { append("null") }
    }

    /// An instant as `JSON.instant` serialises: the ISO text, or null.
    package mutating func jsonInstant(_ t: Instant?) {
        guard let t else { return append("null") }
        bytes.append(UInt8(ascii: "\""))
        iso(t)
        bytes.append(UInt8(ascii: "\""))
    }

    /// `Time.iso(t)`.
    package mutating func iso(_ t: Instant) {
        guard let parts = Time.Parts(t) else { return append(Time.iso(t)) }
        parts.write(.seconds) { bytes.append($0) }
    }

    /// A JSON key and its colon, with the comma before it unless it is the first.
    package mutating func jsonKey(_ key: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        append(key)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    // MARK: CSV

    /// One CSV field as `CSVWriter.line` writes it (quoted only when it holds `,` `"` CR or LF), of a string
    /// cell as `Render.csvCell` makes it (neutralised against spreadsheet formulas by `CSVFormula.neutralise`).
    package mutating func csvText(_ text: String) {
        csvField(CSVFormula.neutralise(text))
    }

    /// `CSVWriter.appendField`, shared with `CSVWriter.line`.
    package mutating func csvField(_ field: String) {
        field.withUTF8Bytes { CSVWriter.appendField($0, to: &bytes) }
    }

    // MARK: XML

    /// `XML.escape(text)`, appended: `XML.append`, shared with it.
    package mutating func xml(_ text: String) {
        text.withUTF8Bytes { XML.append($0, to: &bytes) }
    }
}

extension OutputSink {
    /// Writes the bytes and empties `output` for the next record.
    package func write(_ output: inout OutputBytes) {
        write(bytes: output.bytes)
        output.removeAll()
    }
}
