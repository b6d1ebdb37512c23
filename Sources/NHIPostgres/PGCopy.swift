import CLibPQ

/// The rows of a `COPY ... FROM STDIN` in PostgreSQL's text format: one line a row, cells separated by tabs, `\N`
/// for NULL. Values are data, never SQL: a cell's text is escaped here (`PGCopyText.append`), so a tab, newline or
/// backslash in it stays inside its cell. The bytes go to the server in chunks as they are written.
public struct PGCopyRows {
    let handle: OpaquePointer
    let sql: String
    /// Written but not yet sent.
    var buffer: [UInt8] = []
    /// The next cell starts a row (no tab before it).
    var atRowStart = true
    public private(set) var rows = 0

    /// About this much is sent at a time: large enough that a million rows are few calls into libpq.
    static let chunk = 1 << 18

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
        buffer.reserveCapacity(PGCopyRows.chunk + 4096)
    }

    /// One cell of the current row.
    public mutating func append(_ value: PGValue) throws(PGError) {
        if !atRowStart { buffer.append(UInt8(ascii: "\t")) }
        atRowStart = false
        try PGCopyText.append(value, to: &buffer, sql: sql)
    }

    /// Ends the current row.
    public mutating func endRow() throws(PGError) {
        buffer.append(UInt8(ascii: "\n"))
        atRowStart = true
        rows += 1
        if buffer.count >= PGCopyRows.chunk { try send() }
    }

    mutating func send() throws(PGError) {
        guard !buffer.isEmpty else { return }
        let sent = buffer.withUnsafeBufferPointer { bytes in
            bytes.baseAddress!.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                PQputCopyData(handle, $0, Int32(bytes.count))
            }
        }
        guard sent == 1 else {
            throw PGError(kind: .connectionFailure, message: "could not send COPY data: "
                + PGSecrets.oneLine(String(cString: PQerrorMessage(handle))), sql: sql)
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// The one escaper of COPY's text format (PostgreSQL's COPY, "Text Format"): backslash, newline, carriage return
/// and tab become `\\`, `\n`, `\r`, `\t`; NULL is `\N`; every other byte is itself (the connection speaks UTF8).
public enum PGCopyText {
    public static func append(_ value: PGValue, to out: inout [UInt8], sql: String = "COPY") throws(PGError) {
        switch value {
        case .null:
            out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "N"))
        case .int(let v):
            out.append(contentsOf: String(v).utf8)
        case .double(let v):
            out.append(contentsOf: PGValue.text(of: v).utf8)
        case .bool(let v):
            out.append(v ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        case .text(let v):
            var text = v
            let clean = text.withUTF8 { bytes in
                for byte in bytes {
                    switch byte {
                    case UInt8(ascii: "\\"): out.append(byte); out.append(byte)
                    case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                    case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                    case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                    case 0: return false
                    default: out.append(byte)
                    }
                }
                return true
            }
            guard clean else {
                // As for a parameter: PostgreSQL's text cannot hold a NUL.
                throw PGError(kind: .misuse, message: "a COPY cell contains a NUL character, which PostgreSQL text cannot store",
                              sql: sql)
            }
        case .bytes(let v):
            // bytea's hex input (`\x0aff`), its backslash doubled for COPY.
            let hex = Array("0123456789abcdef".utf8)
            out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "x"))
            for byte in v {
                out.append(hex[Int(byte >> 4)]); out.append(hex[Int(byte & 0x0F)])
            }
        }
    }
}

extension PGConnection {
    /// Runs `sql`, a `COPY table (columns) FROM STDIN` (text format), with the rows `body` writes; returns the
    /// number of rows the server took. All or nothing: a refused row (a constraint) fails the whole COPY with the
    /// server's error. When `body` throws, the COPY is abandoned (the server rolls it back) and its error rethrown.
    @discardableResult
    public func copyIn(_ sql: String, _ body: (inout PGCopyRows) throws -> Void) throws -> Int {
        guard let start = PQexec(handle, sql) else { throw connectionError(sql: sql) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            // Not a COPY FROM STDIN after all: an error, or a statement of another kind that has now run.
            let status = PQresultStatus(start)
            if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_COPY_OUT {
                PQclear(start)
                while let rest = PQgetResult(handle) { PQclear(rest) }
                throw PGError(kind: .misuse, message: "copyIn runs COPY ... FROM STDIN only", sql: sql)
            }
            let error = self.error(from: start, sql: sql)
            PQclear(start)
            throw error
        }
        PQclear(start)
        var rows = PGCopyRows(handle: handle, sql: sql)
        var failure: (any Error)?
        do {
            try body(&rows)
            try rows.send()
        } catch {
            failure = error
        }
        // PQputCopyEnd with a message abandons the COPY: the server answers with an error, which is drained.
        _ = PQputCopyEnd(handle, failure == nil ? nil : "abandoned by nhi")
        var serverError: PGError?
        var count = rows.rows
        while let result = PQgetResult(handle) {
            switch PQresultStatus(result) {
            case PGRES_COMMAND_OK:
                count = Int(String(cString: PQcmdTuples(result))) ?? count
            default:
                if serverError == nil { serverError = self.error(from: result, sql: sql) }
            }
            PQclear(result)
        }
        if let failure { throw failure }
        if let serverError { throw serverError }
        return count
    }
}
