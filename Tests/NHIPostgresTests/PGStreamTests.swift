import Foundation
import NHIPostgres
import Testing

extension PostgresTests {
    @Suite struct Streaming {
        @Test func aLargeScanStreamsRowByRowInFlatMemory() throws {
            let db = try PostgresCluster.scratch().connect()
            let count = 200_000
            let before = maxResidentBytes()
            var seen = 0
            var sum: Int64 = 0
            var widths = 0
            // ~500 bytes a row: about 100 MB if the rows were held together, as PQexec would.
            try db.stream("SELECT g AS n, repeat('x', 500) AS pad FROM generate_series(1, $1::int) g",
                          params: [.int(Int64(count))]) { row in
                seen += 1
                sum += try row.get("n", as: Int64.self)
                widths += try row.get("pad", as: String.self).utf8.count
            }
            #expect(seen == count)
            #expect(sum == Int64(count) * Int64(count + 1) / 2)
            #expect(widths == count * 500)
            let grown = maxResidentBytes() - before
            #expect(grown < 40 << 20, "the peak resident size grew by \(grown >> 20) MiB")
        }

        @Test func aThrowingBodyStopsTheQueryAndTheConnectionStaysUsable() throws {
            let db = try PostgresCluster.scratch().connect()
            struct Enough: Error {}
            var seen = 0
            #expect(throws: Enough.self) {
                try db.stream("SELECT g FROM generate_series(1, 10000000) g") { _ in
                    seen += 1
                    if seen == 10 { throw Enough() }
                }
            }
            #expect(seen == 10)
            #expect(try db.exec("SELECT 41 + 1 AS n")[0].get("n", as: Int.self) == 42)
        }

        @Test func aServerErrorPartWayThroughIsThrownAfterTheRowsBeforeIt() throws {
            let db = try PostgresCluster.scratch().connect()
            var seen = 0
            let error = #expect(throws: PGError.self) {
                try db.stream("SELECT 1 / (1000 - g) AS n FROM generate_series(1, 2000) g") { _ in seen += 1 }
            }
            #expect(error?.sqlState == "22012")  // division_by_zero
            #expect(seen == 999)
            #expect(try db.exec("SELECT 1 AS n")[0].get("n", as: Int.self) == 1)
            // No rows, and statements that return none, stream nothing.
            var none = 0
            try db.stream("SELECT 1 WHERE false") { _ in none += 1 }
            try db.stream("CREATE TABLE s (n int)") { _ in none += 1 }
            #expect(none == 0)
        }
    }
}

func maxResidentBytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss * 1024  // KiB on Linux
}
