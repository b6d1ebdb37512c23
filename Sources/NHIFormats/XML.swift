import NHIBasics

/// XML text escaping for the JUnit report: the five special characters, and characters XML 1.0 forbids dropped.
package enum XML {
    /// False for text `escape` returns unchanged (most ids and reasons): one pass over the bytes.
    /// 0xEF starts the UTF-8 encoding of U+FFFE and U+FFFF, so such text takes the careful path.
    package static func needsEscape(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            bytes.contains { $0 < 0x20 || $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 || $0 == 0xEF }
        }
    }

    package static func escape(_ text: String) -> String {
        if !needsEscape(text) { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t": out.unicodeScalars.append(scalar)
            case "\r": out += "&#13;"
            default:
                // XML 1.0 allows no other C0 control characters, nor U+FFFE/U+FFFF.
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
