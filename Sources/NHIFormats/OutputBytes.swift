import NHIBasics

/// A record's output built as bytes: JSON, CSV and XML text written field by field in its final order, without a
/// `JSONObject` or an array of cells per record. Every function here writes exactly what the value model writes
/// (`JSON.serialized()`, `CSVWriter.line`, `Render.csvCell`, `XML.escape`); Tests/NHITests/OutputBytesTests.swift
/// holds them to that.
package struct OutputBytes {
    package var bytes: [UInt8] = []

    package init(capacity: Int = 1 << 12) { bytes.reserveCapacity(capacity) }

    package var count: Int { bytes.count }

    package mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    // Disfavoured so that a literal goes to the StaticString overload (no String made for it).
    @_disfavoredOverload
    package mutating func append(_ text: String) {
        withUTF8(text) { bytes.append(contentsOf: $0) }
    }

    /// The string's UTF-8 bytes without copying the string into a `var` first (`String.withUTF8` is mutating, and
    /// the copy cost a uniqueness check and retain per call: 2% of `check --format json`).
    private func withUTF8<R>(_ text: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        if let result = try text.utf8.withContiguousStorageIfAvailable(body) { return result }
        var copy = text
        return try copy.withUTF8(body)
    }

    package mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    package mutating func append(_ byte: UInt8) { bytes.append(byte) }

    package mutating func append(contentsOf other: [UInt8]) { bytes.append(contentsOf: other) }

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

    /// A JSON string as `JSON.serialized()` writes it (compact, no HTML escaping).
    package mutating func jsonString(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        jsonStringBody(string)
        bytes.append(UInt8(ascii: "\""))
    }

    /// A JSON string's text without its quotes: strings written one after another inside one pair of quotes
    /// read as their concatenation (escaping is per character).
    package mutating func jsonStringBody(_ string: String) {
        withUTF8(string) { input in
            var runStart = 0, i = 0
            while i < input.count {
                let b = input[i]
                if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != 0xE2 { i += 1; continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
                i += 1
                switch b {
                case UInt8(ascii: "\""): append("\\\"")
                case UInt8(ascii: "\\"): append("\\\\")
                case 0x0A: append("\\n")
                case 0x0D: append("\\r")
                case 0x09: append("\\t")
                case 0x08: append("\\b")
                case 0x0C: append("\\f")
                case 0xE2:
                    // U+2028/U+2029 are escaped, as the serializer does (JavaScript line terminators).
                    if i + 1 < input.count && input[i] == 0x80 && (input[i + 1] == 0xA8 || input[i + 1] == 0xA9) {
                        append(input[i + 1] == 0xA8 ? "\\u2028" : "\\u2029")
                        i += 2
                    } else {
                        bytes.append(b)
                    }
                default:
                    let hex: StaticString = "0123456789abcdef"
                    append("\\u00")
                    bytes.append(hex.utf8Start[Int(b >> 4)])
                    bytes.append(hex.utf8Start[Int(b & 0xF)])
                }
                runStart = i
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<input.count]))
        }
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
    /// cell as `Render.csvCell` makes it (neutralised against spreadsheet formulas).
    package mutating func csvText(_ text: String) {
        csvField(CSVFormula.neutralise(text))
    }

    package mutating func csvField(_ field: String) {
        var field = field
        field.withUTF8 { input in
            if !input.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) {
                return bytes.append(contentsOf: input)
            }
            bytes.append(0x22)
            for b in input {
                if b == 0x22 { bytes.append(0x22) }
                bytes.append(b)
            }
            bytes.append(0x22)
        }
    }

    // MARK: XML

    /// `XML.escape(text)`, byte by byte: JUnit's failure details always hold newlines, so the scalar-by-scalar
    /// path of `XML.escape` ran for nearly every failing test case (a fifth of `check --format junit`).
    package mutating func xml(_ text: String) {
        withUTF8(text) { input in
            var runStart = 0, i = 0
            while i < input.count {
                let b = input[i]
                if b >= 0x20 && b != 0x26 && b != 0x3C && b != 0x3E && b != 0x22 && b != 0x27 && b != 0xEF { i += 1; continue }
                if b == 0x0A || b == 0x09 { i += 1; continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
                i += 1
                switch b {
                case 0x26: append("&amp;")
                case 0x3C: append("&lt;")
                case 0x3E: append("&gt;")
                case 0x22: append("&quot;")
                case 0x27: append("&apos;")
                case 0x0D: append("&#13;")
                case 0xEF:
                    // U+FFFE and U+FFFF (EF BF BE, EF BF BF) are not allowed in XML 1.0: dropped.
                    if i + 1 < input.count && input[i] == 0xBF && (input[i + 1] == 0xBE || input[i + 1] == 0xBF) {
                        i += 2
                    } else {
                        bytes.append(b)
                    }
                default: break // other C0 control characters are not allowed either: dropped
                }
                runStart = i
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<input.count]))
        }
    }
}

extension OutputSink {
    /// Writes the bytes and empties `output` for the next record.
    package func write(_ output: inout OutputBytes) {
        write(bytes: output.bytes)
        output.removeAll()
    }
}
