#if canImport(Glibc)
import Glibc
#endif
import NHIBasics
import NHIFormats

/// The one table layout: columns as wide as their widest cell (the header's included) plus two spaces, the last
/// column unpadded, the header bold when coloured. A table must see every row before its first line, so the rows
/// are kept as packed cells (each cell's UTF-8 bytes with its byte count and display width) up to `memoryLimit`
/// bytes, and the rest go to a temporary file, so a million-row listing is bounded in memory (issue 14). The file
/// is made in `$TMPDIR` (or /tmp) and unlinked at once: nothing is left behind, even by a crash.
package final class TableSpool {
    /// Bytes of packed cells kept in memory before the rest is spooled to the file.
    package static let defaultMemoryLimit = 4 << 20

    package let headers: [String]
    private let memoryLimit: Int
    private let directory: String
    /// The widest cell so far of each column, the header's included.
    private var widths: [Int]
    /// Packed cells of whole rows not yet in the file: per cell, LEB128 byte count, LEB128 width, the bytes.
    private var packed: [UInt8] = []
    private var cellsInRow = 0
    private var fd: Int32 = -1
    /// The errno of the first failure to make or write the file; later rows are dropped (finish throws).
    private var failure: Int32?
    package private(set) var rowCount = 0
    /// Bytes written to the temporary file (each flushed block and its length).
    package private(set) var spilledBytes = 0

    /// `directory`: where the temporary file is made (default `$TMPDIR`, else /tmp).
    package init(headers: [String], memoryLimit: Int = TableSpool.defaultMemoryLimit, directory: String? = nil) {
        self.headers = headers
        self.memoryLimit = memoryLimit
        self.directory = directory ?? TableSpool.temporaryDirectory
        widths = headers.map(TableText.width)
        packed.reserveCapacity(min(memoryLimit, 1 << 16) + 1 << 10)
    }

    deinit { if fd >= 0 { close(fd) } }

    package static var temporaryDirectory: String {
        if let dir = getenv("TMPDIR").map({ String(cString: $0) }), !dir.isEmpty { return dir }
        return "/tmp"
    }

    /// The next cell, as the table shows it; a row is whole after one cell per header.
    package func add(_ cell: String) {
        let width = TableText.width(cell)
        if width > widths[cellsInRow] { widths[cellsInRow] = width }
        cell.withUTF8Bytes { bytes in
            TableSpool.appendNumber(bytes.count, to: &packed)
            TableSpool.appendNumber(width, to: &packed)
            packed.append(contentsOf: bytes)
        }
        cellsInRow += 1
        if cellsInRow == headers.count { endRow() }
    }

    package func add(row: [String]) {
        precondition(row.count == headers.count, "a table row has one cell per header")
        for cell in row { add(cell) }
    }

    private func endRow() {
        cellsInRow = 0
        rowCount += 1
        if packed.count >= memoryLimit { spill() }
    }

    /// Writes the rows in memory to the file as one block (its length in 8 bytes, then its bytes), whole rows
    /// only, so that each block can be laid out on its own when read back.
    private func spill() {
        defer { packed.removeAll(keepingCapacity: true) }
        guard failure == nil else { return }
        if fd < 0 {
            var template = Array((directory + "/nhi-table-XXXXXX").utf8CString)
            fd = template.withUnsafeMutableBufferPointer { path in
                let made = mkstemp(path.baseAddress!)
                // Unlinked at once: the open descriptor keeps the data until it is closed.
                if made >= 0 { unlink(path.baseAddress!) }
                return made
            }
            if fd < 0 { failure = errno; return }
        }
        var length = UInt64(packed.count).littleEndian
        let error = withUnsafeBytes(of: &length) { Descriptor.writeAll(fd, $0) } ?? packed.withUnsafeBytes { Descriptor.writeAll(fd, $0) }
        if let error { failure = error; return }
        spilledBytes += MemoryLayout<UInt64>.size + packed.count
    }

    /// The table written to `sink`: the header, then every row padded to the widths of all rows. Throws a store
    /// error (exit 4) naming the file's directory when the spooled rows could not be written or read back;
    /// nothing is written then unless the failure came while reading back.
    package func finish(colour: Bool, to sink: OutputSink) throws {
        defer { if fd >= 0 { close(fd); fd = -1 } }
        if let failure { throw spoolError(failure) }
        var out = OutputBytes(capacity: 1 << 16)
        header(colour: colour, into: &out)
        if fd >= 0 {
            guard lseek(fd, 0, SEEK_SET) == 0 else { throw spoolError(errno, reading: true) }
            var block: [UInt8] = []
            var done = 0
            while done < spilledBytes {
                var length: UInt64 = 0
                if let error = withUnsafeMutableBytes(of: &length, { Descriptor.readExactly(fd, $0) }) { throw spoolError(error, reading: true) }
                block.removeAll(keepingCapacity: true)
                block.append(contentsOf: repeatElement(0, count: Int(UInt64(littleEndian: length))))
                if let error = block.withUnsafeMutableBytes({ Descriptor.readExactly(fd, $0) }) { throw spoolError(error, reading: true) }
                rows(block, into: &out, sink: sink)
                done += MemoryLayout<UInt64>.size + block.count
            }
        }
        rows(packed, into: &out, sink: sink)
        packed = []
        sink.write(&out)
    }

    /// The table of rows that never left memory (`memoryLimit: .max`): nothing to read back, so nothing can fail.
    package func finishInMemory(colour: Bool, to sink: OutputSink) {
        precondition(fd < 0 && failure == nil, "finishInMemory on a spooled table")
        var out = OutputBytes(capacity: 1 << 12)
        header(colour: colour, into: &out)
        rows(packed, into: &out, sink: sink)
        sink.write(&out)
    }

    private func spoolError(_ code: Int32, reading: Bool = false) -> NHIError {
        .store("cannot \(reading ? "read back" : "write") the table's temporary file in '\(directory)': "
            + "\(OutputSink.describe(code)) (set TMPDIR to a directory with free space)")
    }

    private func header(colour: Bool, into out: inout OutputBytes) {
        TableSpool.header(headers, widths: widths, colour: colour, into: &out)
    }

    /// The header line of columns `widths` wide (also the token reports', which measure their own rows).
    package static func header(_ headers: [String], widths: [Int], colour: Bool, into out: inout OutputBytes) {
        if colour { out.append("\u{1B}[1m") }
        for (i, header) in headers.enumerated() {
            out.append(header)
            if i < headers.count - 1 { pad(to: widths[i], from: TableText.width(header), into: &out) }
        }
        if colour { out.append("\u{1B}[0m") }
        out.append(UInt8(ascii: "\n"))
    }

    /// The spaces after a cell `width` wide in a column `columnWidth` wide: the gap between columns is two.
    @inline(__always)
    package static func pad(to columnWidth: Int, from width: Int, into out: inout OutputBytes) {
        out.append(UInt8(ascii: " "), count: columnWidth - width + 2)
    }

    /// The lines of a block of packed rows.
    private func rows(_ block: [UInt8], into out: inout OutputBytes, sink: OutputSink) {
        let last = headers.count - 1
        block.withUnsafeBufferPointer { bytes in
            var at = 0, column = 0
            while at < bytes.count {
                let length = TableSpool.number(bytes, &at), width = TableSpool.number(bytes, &at)
                out.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[at ..< at + length]))
                at += length
                if column < last {
                    TableSpool.pad(to: widths[column], from: width, into: &out)
                    column += 1
                } else {
                    out.append(UInt8(ascii: "\n"))
                    column = 0
                    if out.count >= 1 << 15 { sink.write(&out) }
                }
            }
        }
    }

    // MARK: The packing (LEB128: a byte for a count under 128)

    private static func appendNumber(_ value: Int, to bytes: inout [UInt8]) {
        var v = UInt(value)
        while v >= 0x80 { bytes.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        bytes.append(UInt8(v))
    }

    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ at: inout Int) -> Int {
        var value = 0, shift = 0
        while true {
            let b = bytes[at]
            at += 1
            value |= Int(b & 0x7F) << shift
            if b < 0x80 { return value }
            shift += 7
        }
    }
}
