import Foundation
import Testing

/// A table past TableSpool's 4 MiB of cells in memory, through the binary: its first rows come back from the
/// temporary file in `$TMPDIR`, and the columns are still as wide as the widest cell of every row; a `$TMPDIR` that
/// cannot hold the file fails the command with exit 4 before any output, while machine formats and small tables
/// never touch it.
@Suite("Table output spooled through the binary")
struct TableSpoolEndToEndTests {
    @Test("a 50,000-token table: the widest id is in the spooled rows and every row is aligned to it")
    func spooledTable() throws {
        let s = Sandbox()
        try s.generate(tokens: 50_000)
        try s.ok(["owner", "add", "a-wide", "--name", "Wide", "--email", "wide@example.com"])
        try s.ok(["agent", "add", "a-wide-bot", "--system", "github", "--owner", "a-wide"])
        // Listed first (by id), so it is in the first block spooled, not in the rows still in memory at the end.
        let wide = "a-wide-" + String(repeating: "w", count: 120)
        try s.ok(["token", "register", wide, "--owner", "a-wide", "--purpose", "wide id", "--system", "github",
                  "--agent", "a-wide-bot", "--expires", "2026-12-31"])

        let spoolDir = s.path("spool")
        try FileManager.default.createDirectory(atPath: spoolDir, withIntermediateDirectories: true)
        let table = try s.run(["token", "list"], env: ["TMPDIR": spoolDir])
        #expect(table.code == 0, "\(table.err)")
        let lines = table.out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(lines.count == 50_002, "the header and 50,001 rows")
        #expect(lines.dropFirst().first?.hasPrefix(wide) == true)
        // The OWNER column starts at one offset in the header and in every row, past the widest id.
        let ownerStart = try #require(lines[0].range(of: "OWNER")).lowerBound.utf16Offset(in: lines[0])
        #expect(ownerStart == wide.count + 2)
        let misaligned = lines.filter { line in
            let c = Array(line)
            return c.count <= ownerStart || c[ownerStart - 1] != " " || c[ownerStart] == " "
        }
        #expect(misaligned.isEmpty, "\(misaligned.count) lines not aligned, e.g. \(misaligned.first ?? "")")
        #expect(try FileManager.default.contentsOfDirectory(atPath: spoolDir).isEmpty, "the spool file is unlinked")

        // The same listing with a directory the spool cannot be made in (so the rows above did go through the file: about
        // 110 bytes of cells a row, 5 MiB in all): exit 4, nothing on stdout, the directory named.
        let missing = s.path("no-such-dir")
        let refused = try s.run(["token", "list"], env: ["TMPDIR": missing])
        #expect(refused.code == 4)
        #expect(refused.out.isEmpty)
        #expect(refused.err.contains("cannot write the table's temporary file in '\(missing)'"), "\(refused.err)")
        // JSON streams and a small table stays in memory: neither needs the directory.
        let json = try s.run(["token", "list", "--format", "json"], env: ["TMPDIR": missing])
        #expect(json.code == 0, "\(json.err)")
        #expect(try jsonArray(json.out).count == 50_001)
        let small = try s.run(["token", "list", "--owner", "a-wide"], env: ["TMPDIR": missing])
        #expect(small.code == 0 && small.out.contains(wide), "\(small.err)")
    }
}
