import CLibPQ

#if canImport(Glibc)
import Glibc
#endif

/// A result's column names and a name -> index map, built once and shared by every row of the result (and, in a
/// streamed read, by every single-row result of the query).
public final class PGColumns: Sendable {
    public let names: [String]
    private let exact: [String: Int]
    private let folded: [String: Int]

    init(names: [String]) {
        self.names = names
        var exact: [String: Int] = [:]
        var folded: [String: Int] = [:]
        // The first column of a name wins, as in SQL (`SELECT a.id, b.id`).
        for (index, name) in names.enumerated().reversed() {
            exact[name] = index
            folded[name.lowercased()] = index
        }
        self.exact = exact
        self.folded = folded
    }

    convenience init(result: OpaquePointer) {
        let count = PQnfields(result)
        self.init(names: (0..<count).map { String(cString: PQfname(result, $0)) })
    }

    /// The index of a column. Exact match first; then case-insensitively, because PostgreSQL folds unquoted
    /// names to lower case (`SELECT 1 AS asOf` comes back as `asof`) where SQLite keeps them as written.
    public func index(of name: String) throws(PGError) -> Int {
        if let index = exact[name] ?? folded[name.lowercased()] { return index }
        let known = names.map { "'\($0)'" }.joined(separator: ", ")
        throw PGError(kind: .columnNotFound, message: "no column '\(name)' in the result (columns: \(known))")
    }
}

/// The rows of a finished statement; owns the PGresult (PQclear in deinit). Not Sendable: it belongs to the
/// connection's thread, like GRDB's statements.
public final class PGResult {
    let handle: OpaquePointer
    public let columns: PGColumns
    public let sql: String

    init(handle: OpaquePointer, columns: PGColumns? = nil, sql: String) {
        self.handle = handle
        self.columns = columns ?? PGColumns(result: handle)
        self.sql = sql
    }

    deinit { PQclear(handle) }

    public var rowCount: Int { Int(PQntuples(handle)) }
    public var columnCount: Int { columns.names.count }

    /// Rows changed by an INSERT, UPDATE, DELETE, MERGE, or returned by SELECT (PQcmdTuples); 0 for the rest.
    public var rowsAffected: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    /// The command tag: "INSERT 0 1", "COMMIT", "ROLLBACK" ...
    public var commandTag: String { String(cString: PQcmdStatus(handle)) }

    public subscript(row: Int) -> PGRow {
        precondition(row >= 0 && row < rowCount, "row \(row) out of 0..<\(rowCount)")
        return PGRow(result: self, row: Int32(row))
    }

    public var rows: [PGRow] { (0..<rowCount).map { self[$0] } }

    /// The type OID of a column (PQftype: 20 for bigint, 25 for text...), so a caller can tell numbers from text.
    public func typeOID(at column: Int) -> UInt32 { PQftype(handle, Int32(column)) }

    /// The text of a cell without decoding (nil for NULL); the buffer is valid only inside `body`.
    public func withText<R>(row: Int, column: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R? {
        let (r, c) = (Int32(row), Int32(column))
        if PQgetisnull(handle, r, c) != 0 { return nil }
        let start = UnsafeRawPointer(PQgetvalue(handle, r, c)).assumingMemoryBound(to: UInt8.self)
        return try body(UnsafeBufferPointer(start: start, count: Int(PQgetlength(handle, r, c))))
    }

    /// Whether a cell is NULL.
    public func isNull(row: Int, column: Int) -> Bool { PQgetisnull(handle, Int32(row), Int32(column)) != 0 }

    /// The first row, or nil when there is none.
    public var first: PGRow? { rowCount > 0 ? self[0] : nil }
}

/// One row of a result, read by declared column name (an unknown name throws) or by index. Keeps its result alive.
public struct PGRow {
    public let result: PGResult
    let row: Int32

    public var columns: PGColumns { result.columns }

    /// The value of a column, decoded as `T`; `T?` reads NULL as nil, any other type throws on NULL.
    public func get<T: PGDecodable>(_ column: String, as type: T.Type = T.self) throws(PGError) -> T {
        try get(at: columns.index(of: column), as: type, name: column)
    }

    public func get<T: PGDecodable>(at index: Int, as type: T.Type = T.self) throws(PGError) -> T {
        try get(at: index, as: type, name: nil)
    }

    public func isNull(_ column: String) throws(PGError) -> Bool {
        PQgetisnull(result.handle, row, Int32(try columns.index(of: column))) != 0
    }

    public func isNull(at index: Int) -> Bool {
        precondition(index >= 0 && index < result.columnCount, "column \(index) out of 0..<\(result.columnCount)")
        return PQgetisnull(result.handle, row, Int32(index)) != 0
    }

    private func get<T: PGDecodable>(at index: Int, as type: T.Type, name: String?) throws(PGError) -> T {
        precondition(index >= 0 && index < result.columnCount, "column \(index) out of 0..<\(result.columnCount)")
        let column = Int32(index)
        let label = name ?? columns.names[index]
        if PQgetisnull(result.handle, row, column) != 0 {
            return try T.decodeNull(column: label)
        }
        let text = UnsafeBufferPointer(
            start: UnsafeRawPointer(PQgetvalue(result.handle, row, column)).assumingMemoryBound(to: UInt8.self),
            count: Int(PQgetlength(result.handle, row, column)))
        return try T.decode(text: text, column: label)
    }
}

/// A type read from a column in PostgreSQL's text format. `decodeNull` throws, except for Optional.
public protocol PGDecodable {
    /// `text` is the column's text (not NUL-terminated in the buffer's count), valid only during the call.
    static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Self
    static func decodeNull(column: String) throws(PGError) -> Self
}

extension PGDecodable {
    public static func decodeNull(column: String) throws(PGError) -> Self {
        throw PGError(kind: .decodingFailed, message: "column '\(column)' is NULL, expected \(Self.self)")
    }

    static func mismatch(_ text: UnsafeBufferPointer<UInt8>, _ column: String) -> PGError {
        let shown = String(decoding: text.prefix(40), as: UTF8.self)
        return PGError(kind: .decodingFailed, message: "column '\(column)' holds '\(shown)', not a \(Self.self)")
    }
}

extension Optional: PGDecodable where Wrapped: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Wrapped? {
        try Wrapped.decode(text: text, column: column)
    }
    public static func decodeNull(column: String) throws(PGError) -> Wrapped? { nil }
}

extension String: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> String {
        String(decoding: text, as: UTF8.self)  // the connection's client_encoding is UTF8
    }
}

extension Int64: PGDecodable {
    /// Parsed from the bytes, without making a String: a 1M-row scan reads millions of these.
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Int64 {
        var index = 0
        var negative = false
        if text.count > 0, text[0] == UInt8(ascii: "-") { negative = true; index = 1 }
        guard index < text.count else { throw mismatch(text, column) }
        var value: Int64 = 0
        while index < text.count {
            let digit = text[index] &- UInt8(ascii: "0")
            guard digit < 10 else { throw mismatch(text, column) }
            // Accumulate negatively so that Int64.min parses without overflow.
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.subtractingReportingOverflow(Int64(digit))
            guard !o1, !o2 else { throw mismatch(text, column) }
            value = next
            index += 1
        }
        if negative { return value }
        guard value != .min else { throw mismatch(text, column) }
        return -value
    }
}

extension Int: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Int {
        Int(try Int64.decode(text: text, column: column))
    }
}

extension Int32: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Int32 {
        guard let value = Int32(exactly: try Int64.decode(text: text, column: column)) else {
            throw mismatch(text, column)
        }
        return value
    }
}

extension Double: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Double {
        // float8 text: digits, exponent, "NaN", "Infinity", "-Infinity" (strtod reads all of them).
        let string = String(decoding: text, as: UTF8.self)
        var end: UnsafeMutablePointer<CChar>?
        let value = string.withCString { start in
            let v = strtod(start, &end)
            return (v, end.map { $0 - UnsafeMutablePointer(mutating: start) } ?? 0)
        }
        guard !string.isEmpty, value.1 == string.utf8.count else { throw mismatch(text, column) }
        return value.0
    }
}

extension Bool: PGDecodable {
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> Bool {
        guard text.count == 1 else { throw mismatch(text, column) }
        switch text[0] {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: throw mismatch(text, column)
        }
    }
}

extension Array: PGDecodable where Element == UInt8 {
    /// bytea in hex output format (`\x0aff`), the default since PostgreSQL 9.0.
    public static func decode(text: UnsafeBufferPointer<UInt8>, column: String) throws(PGError) -> [UInt8] {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"), text.count % 2 == 0
        else { throw PGError(kind: .decodingFailed, message: "column '\(column)' is not bytea in hex format") }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index < text.count {
            guard let high = nibble(text[index]), let low = nibble(text[index + 1]) else {
                throw PGError(kind: .decodingFailed, message: "column '\(column)' is not bytea in hex format")
            }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
