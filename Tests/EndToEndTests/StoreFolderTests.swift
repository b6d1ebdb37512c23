import Foundation
import Testing

/// A store path whose folder does not exist: the message names the folder and the command that creates it, the
/// command exits 3, and nothing is created.
@Suite struct StoreFolderTests {
    @Test func aMissingFolderIsNamedWithTheFix() throws {
        let box = Sandbox()
        let db = box.path("inventory/nhi.db")
        let result = try box.run(["--db", db, "owner", "add", "alice", "--name", "A", "--email", "a@example.com"], useDB: false)
        #expect(result.code == 3)
        #expect(result.out.isEmpty)
        #expect(result.err.contains("its folder '\(box.path("inventory"))' does not exist (create it with: mkdir -p '\(box.path("inventory"))')"))
        #expect(!FileManager.default.fileExists(atPath: box.path("inventory")))
    }
}
