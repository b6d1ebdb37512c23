import Foundation
import Testing

/// A FIFO given where nhi reads a file is refused at once (exit 3, nothing on stdout), instead of waiting forever
/// for a writer. Each run is bounded by timeout(1), so a regression fails instead of hanging the suite.
@Suite struct FIFOInputTests {
    func runBounded(_ box: Sandbox, _ args: [String]) throws -> (code: Int32, err: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        process.arguments = ["10", NHIBinary.path, "--db", box.db] + args
        let errPipe = Pipe()
        process.standardError = errPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let err = String(decoding: readAll(errPipe.fileHandleForReading), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, err)
    }

    @Test func fifosAreRefusedNotWaitedOn() throws {
        let box = Sandbox()
        _ = try box.run(["owner", "add", "alice", "--name", "A", "--email", "a@example.com"])
        let fifo = box.path("input.csv")
        #expect(mkfifo(fifo, 0o600) == 0)
        for args in [["import", fifo], ["usage", "import", fifo], ["policy", "check", fifo], ["check", "--policy", fifo]] {
            let result = try runBounded(box, args)
            #expect(result.code == 3, "\(args.joined(separator: " ")): exit \(result.code) (124 is a timeout: it waited)")
            #expect(result.err.contains("is a FIFO, not a file"), "\(args.joined(separator: " ")): \(result.err)")
        }
    }
}
