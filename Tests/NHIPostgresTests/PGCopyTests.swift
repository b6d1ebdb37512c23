import Foundation
import NHIPostgres
import Testing

/// COPY's text format has its own escaper (`PGCopyText`): these hold it to PostgreSQL's rules without a server.
@Suite struct CopyText {
    func cell(_ value: PGValue) throws -> String {
        var out: [UInt8] = []
        try PGCopyText.append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func controlCharactersAndBackslashesAreEscapedAndNothingElse() throws {
        #expect(try cell(.text("a\tb\nc\rd\\e")) == "a\\tb\\nc\\rd\\\\e")
        #expect(try cell(.text("\\N")) == "\\\\N")  // the text \N, not NULL
        #expect(try cell(.text("\\.")) == "\\\\.")  // not the end-of-data marker
        #expect(try cell(.text("naïve 日本語 'quote' \"dq\" ; --")) == "naïve 日本語 'quote' \"dq\" ; --")
        #expect(try cell(.text("")) == "")
        #expect(try cell(.null) == "\\N")
        #expect(try cell(.int(.min)) == "-9223372036854775808")
        #expect(try cell(.double(.infinity)) == "Infinity")
        #expect(try cell(.bool(false)) == "f")
        #expect(try cell(.bytes([0, 0xAB, 0x0A])) == "\\\\x00ab0a")
    }

    @Test func aNULIsRefused() {
        #expect(throws: PGError.self) { try cell(.text("a\u{0}b")) }
    }
}

extension PostgresTests {
    @Suite struct Copy {
        @Test func rowsRoundTripThroughCopyUnchanged() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("CREATE TABLE t (id bigint PRIMARY KEY, label text, x double precision, ok boolean, raw bytea)")
            let labels = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\.", "", "日本語 🚀", "it's \"q\""]
            let written = try db.copyIn("COPY t (id, label, x, ok, raw) FROM STDIN") { rows in
                for (i, label) in labels.enumerated() {
                    try rows.append(.int(Int64(i)))
                    try rows.append(.text(label))
                    try rows.append(i == 0 ? .null : .double(Double(i) / 3))
                    try rows.append(.bool(i % 2 == 0))
                    try rows.append(.bytes([UInt8(i), 0x5C, 0x0A]))
                    try rows.endRow()
                }
                try rows.append(.int(99)); try rows.append(.null); try rows.append(.null); try rows.append(.null)
                try rows.append(.null); try rows.endRow()
            }
            #expect(written == labels.count + 1)
            let result = try db.exec("SELECT id, label, x, ok, raw FROM t ORDER BY id")
            for (i, label) in labels.enumerated() {
                let row = result[i]
                #expect(try row.get("label", as: String.self) == label)
                #expect(try row.get("x", as: Double?.self) == (i == 0 ? nil : Double(i) / 3))
                #expect(try row.get("ok", as: Bool.self) == (i % 2 == 0))
                #expect(try row.get("raw", as: [UInt8].self) == [UInt8(i), 0x5C, 0x0A])
            }
            #expect(try result[labels.count].isNull("label"))
        }

        @Test func aRefusedRowFailsTheWholeCopyAndTheConnectionStaysUsable() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("CREATE TABLE t (id bigint PRIMARY KEY)")
            let error = #expect(throws: PGError.self) {
                try db.copyIn("COPY t (id) FROM STDIN") { rows in
                    for id in [1, 2, 2, 3] { try rows.append(.int(Int64(id))); try rows.endRow() }
                }
            }
            #expect(error?.sqlState == "23505")  // unique_violation
            #expect(try db.exec("SELECT count(*) AS n FROM t")[0].get("n", as: Int.self) == 0)
            // A body that throws abandons the COPY: nothing is kept, its error comes back.
            struct Stop: Error {}
            #expect(throws: Stop.self) {
                try db.copyIn("COPY t (id) FROM STDIN") { rows in
                    try rows.append(.int(7)); try rows.endRow()
                    throw Stop()
                }
            }
            #expect(try db.exec("SELECT count(*) AS n FROM t")[0].get("n", as: Int.self) == 0)
            // A NUL in a cell is refused before it reaches the server.
            #expect(throws: PGError.self) {
                try db.exec("CREATE TABLE u (s text)")
                try db.copyIn("COPY u (s) FROM STDIN") { rows in try rows.append(.text("a\u{0}")); try rows.endRow() }
            }
            #expect(try db.copyIn("COPY t (id) FROM STDIN") { rows in try rows.append(.int(1)); try rows.endRow() } == 1)
            // Another statement is refused, and has not run.
            #expect(throws: PGError.self) { try db.copyIn("SELECT 1") { _ in } }
            #expect(try db.exec("SELECT 1 AS n")[0].get("n", as: Int.self) == 1)
        }

        @Test func aLargeCopyIsSentInChunks() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("CREATE TABLE t (id bigint, pad text)")
            let count = 20_000  // about 2 MB: several chunks
            try db.copyIn("COPY t (id, pad) FROM STDIN") { rows in
                for i in 0..<count { try rows.append(.int(Int64(i))); try rows.append(.text(String(repeating: "x", count: 100))); try rows.endRow() }
            }
            let row = try db.exec("SELECT count(*) AS n, sum(id) AS s, sum(length(pad)) AS l FROM t")[0]
            #expect(try row.get("n", as: Int.self) == count)
            #expect(try row.get("s", as: Int64.self) == Int64(count) * Int64(count - 1) / 2)
            #expect(try row.get("l", as: Int.self) == count * 100)
        }
    }
}
