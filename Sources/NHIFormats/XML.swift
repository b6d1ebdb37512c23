import NHIBasics

/// XML text and attribute escaping for the JUnit report and the HTML page, defined once: the five special
/// characters as entities, CR as `&#13;` (kept through attribute-value normalisation), and the characters XML 1.0
/// forbids (C0 controls but TAB and LF, U+FFFE, U+FFFF) dropped. `escape` (String) and `OutputBytes.xml` (bytes)
/// both run `append`, so the two cannot drift.
package enum XML {
    /// A byte `append` may change: 0xEF starts the UTF-8 encoding of U+FFFE and U+FFFF, so such text takes the
    /// careful path. TAB and LF pass unchanged.
    @inline(__always)
    private static func isSpecial(_ b: UInt8) -> Bool {
        (b < 0x20 && b != 0x0A && b != 0x09) || b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27 || b == 0xEF
    }

    package static func escape(_ text: String) -> String {
        text.withUTF8Bytes { input in
            // Most ids and reasons need nothing: one pass over the bytes, and the text itself is returned.
            if !input.contains(where: isSpecial) { return text }
            var out: [UInt8] = []
            out.reserveCapacity(input.count + 16)
            append(input, to: &out)
            return String(decoding: out, as: UTF8.self)
        }
    }

    /// Appends `input` (UTF-8) escaped, byte by byte: JUnit's failure details always hold newlines, so a
    /// scalar-by-scalar escaper ran for nearly every failing test case (a fifth of `check --format junit`).
    @inline(__always)
    package static func append(_ input: UnsafeBufferPointer<UInt8>, to bytes: inout [UInt8]) {
        var runStart = 0, i = 0
        while i < input.count {
            let b = input[i]
            if !isSpecial(b) { i += 1; continue }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<i]))
            i += 1
            switch b {
            case 0x26: entity("&amp;", &bytes)
            case 0x3C: entity("&lt;", &bytes)
            case 0x3E: entity("&gt;", &bytes)
            case 0x22: entity("&quot;", &bytes)
            case 0x27: entity("&apos;", &bytes)
            case 0x0D: entity("&#13;", &bytes)
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

    @inline(__always)
    private static func entity(_ text: StaticString, _ bytes: inout [UInt8]) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }
}
