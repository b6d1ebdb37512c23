import Foundation
import NHIPostgres
import Testing

/// Runs `body` with file descriptors 1 and 2 pointed at a temporary file, and returns what was written there.
func captureStandardStreams(_ body: () throws -> Void) throws -> String {
    let path = "/tmp/nhi-pg-capture-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    let file = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
    defer { unlink(path) }
    fflush(nil)
    let savedOut = dup(1), savedErr = dup(2)
    dup2(file, 1)
    dup2(file, 2)
    defer {
        fflush(nil)
        dup2(savedOut, 1)
        dup2(savedErr, 2)
        close(savedOut)
        close(savedErr)
        close(file)
    }
    try body()
    return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
}

/// Expects `body` to throw a PGError of `kind`, and returns it.
@discardableResult
func expectError(_ kind: PGErrorKind, sourceLocation: SourceLocation = #_sourceLocation,
                 _ body: () throws -> Void) -> PGError? {
    let error = #expect(throws: PGError.self, sourceLocation: sourceLocation) { try body() }
    #expect(error?.kind == kind, "\(error.map { "\($0)" } ?? "no error")", sourceLocation: sourceLocation)
    return error
}
