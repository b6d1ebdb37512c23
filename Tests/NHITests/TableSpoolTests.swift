import Foundation
import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIOutput

/// The table layout of every table writer (`TableSpool`): rows spooled to its temporary file past the in-memory
/// limit are laid out exactly as rows kept in memory, and the file is never left behind.
@Suite("Table spool")
struct TableSpoolTests {
    static let headers = ["ID", "NAME", "NOTE"]

    /// Cells of every kind of width: multi-byte characters, a grapheme of many scalars, combining marks, CR LF
    /// (one character), empty, and cells past 127 bytes (a length of two bytes in the packing). The widest cell of
    /// each column comes first, so the rows laid out from memory are padded to a width found in the file.
    static let rows: [[String]] = {
        var rows = [["tok-" + String(repeating: "é", count: 70), "👩‍💻 Zoë", String(repeating: "x", count: 300)],
                    ["東京", "", "a\r\nb"], ["e\u{301}e\u{301}", "-", "last"]]
        for i in 0 ..< 40 { rows.append(["t\(i)", i % 2 == 0 ? "ünïcödé" : "ascii", "n\(i)"]) }
        return rows
    }()

    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nhi-spool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    /// The open descriptors of this process on a file in `directory` (an unlinked file reads `... (deleted)`).
    static func descriptors(into directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")
        }.filter { $0.hasPrefix(directory + "/") }
    }

    func spooled(limit: Int, directory: String, colour: Bool) throws -> (text: String, spilled: Int) {
        let spool = TableSpool(headers: Self.headers, memoryLimit: limit, directory: directory)
        for row in Self.rows { spool.add(row: row) }
        let sink = OutputSink(capturing: ())
        try spool.finish(colour: colour, to: sink)
        return (sink.captured, spool.spilledBytes)
    }

    @Test("rows spooled past the in-memory limit give the bytes of the table kept in memory")
    func spilledEqualsInMemory() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for colour in [false, true] {
            let inMemory = Render.table(headers: Self.headers, rows: Self.rows, colour: colour)
            // 1: every row its own block; 64: a few rows a block; 4 MiB: nothing spooled.
            for limit in [1, 64, TableSpool.defaultMemoryLimit] {
                let (text, spilled) = try spooled(limit: limit, directory: dir, colour: colour)
                #expect(text == inMemory, "limit \(limit), colour \(colour)")
                #expect((spilled > 0) == (limit < TableSpool.defaultMemoryLimit), "limit \(limit)")
            }
        }
        // The layout itself: columns as wide as their widest cell in characters plus two, the last unpadded.
        let text = Render.table(headers: Self.headers, rows: Self.rows, colour: false)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let first = Self.rows[0][0].count + 2, second = max("👩‍💻 Zoë".count, "ünïcödé".count) + 2
        #expect(lines[0] == "ID" + String(repeating: " ", count: first - 2) + "NAME" + String(repeating: " ", count: second - 4) + "NOTE")
        #expect(lines[2] == "東京" + String(repeating: " ", count: first - 2) + String(repeating: " ", count: second) + "a\r\nb")
        #expect(lines.count == Self.rows.count + 2 && lines.last == "")
    }

    @Test("the record writer's table is the same spooled or not, and says when it is empty")
    func recordWriterSpooled() throws {
        let columns = [Column("id"), Column("name"), Column("note")]
        func written(limit: Int, records: [[String]]) throws -> String {
            let sink = OutputSink(capturing: ())
            let writer = RecordWriter(format: "table", columns: columns, sink: sink, colour: false, tableMemoryLimit: limit)
            for row in records {
                writer.write(["id": .string(row[0]), "name": .string(row[1]), "note": .string(row[2])])
            }
            try writer.finish(emptyMessage: "nothing")
            return sink.captured
        }
        let shown = Self.rows.map { $0.map { TableText.display(.string($0)) } }
        #expect(try written(limit: 32, records: Self.rows) == Render.table(headers: columns.map(\.header), rows: shown, colour: false))
        #expect(try written(limit: 32, records: Self.rows) == written(limit: TableSpool.defaultMemoryLimit, records: Self.rows))
        #expect(try written(limit: 32, records: []) == "nothing\n")
    }

    @Test("the temporary file is unlinked when made and closed when the table is written or dropped")
    func temporaryFileGone() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let spool = TableSpool(headers: Self.headers, memoryLimit: 16, directory: dir)
        for row in Self.rows { spool.add(row: row) }
        #expect(spool.spilledBytes > 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty, "no name left in the directory")
        let open = try Self.descriptors(into: dir)
        #expect(open.count == 1 && open[0].hasSuffix(" (deleted)"), "\(open)")
        try spool.finish(colour: false, to: OutputSink(capturing: ()))
        #expect(try Self.descriptors(into: dir).isEmpty)

        do {
            let dropped = TableSpool(headers: Self.headers, memoryLimit: 16, directory: dir)
            for row in Self.rows { dropped.add(row: row) }
            let whileAlive = try Self.descriptors(into: dir)
            withExtendedLifetime(dropped) {}
            #expect(whileAlive.count == 1)
        }
        #expect(try Self.descriptors(into: dir).isEmpty, "a spool never finished closes its file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    @Test("a temporary file that cannot be written is a store error naming the directory, with nothing written")
    func unwritableDirectory() throws {
        let missing = "/nonexistent-\(UUID().uuidString)"
        let sink = OutputSink(capturing: ())
        let spool = TableSpool(headers: ["ID"], memoryLimit: 8, directory: missing)
        for i in 0 ..< 10 { spool.add("token-\(i)") }
        let error = try #require(throws: NHIError.self) { try spool.finish(colour: false, to: sink) }
        #expect(error.kind == .store && error.exitCode == .store)
        #expect(error.message == "cannot write the table's temporary file in '\(missing)': No such file or directory "
                + "(set TMPDIR to a directory with free space)")
        #expect(sink.captured.isEmpty)
    }
}
