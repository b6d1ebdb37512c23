import NHIPostgres
import Testing

/// No server needed: these run wherever libpq is linked.
@Suite struct ConnectionTargets {
    @Test(arguments: [
        "postgresql://u:s3cretpw@/db?host=/nonexistent",
        "postgres://u:s3cretpw@/db?host=/nonexistent",
        "postgresql://u:s3cret%70w@/db?host=/nonexistent",  // percent-encoded: s3cretpw
        "postgresql://u@/db?host=/nonexistent&password=s3cretpw",
        "host=/nonexistent dbname=db user=u password=s3cretpw",
        "host=/nonexistent dbname=db user=u password = 's3cretpw'",
    ])
    func aPasswordNeverAppearsInAConnectionError(uri: String) throws {
        let error = #expect(throws: PGError.self) { _ = try PGConnection(uri) }
        #expect(error?.kind == .connectionFailure)
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(!text.contains("s3cret"), "\(text)")
        #expect(!text.contains("%70w"))
        #expect(text.contains("host=/nonexistent port=5432 dbname=db user=u"), "\(text)")
        #expect(text.contains("No such file or directory"), "libpq's reason is kept: \(text)")
    }

    @Test(arguments: [
        "postgresql://u:s3cret%zzpw@/db?host=/nonexistent",  // bad percent-encoding: libpq quotes the token
        "postgresql://u:s3cretpw@/db?host=/nonexistent&bogus=1",
        "postgresql://u:s3cretpw@host:notaport/db",
        "host=/nonexistent password='s3cretpw",  // unterminated quote
    ])
    func aPasswordNeverAppearsWhenTheStringDoesNotParse(uri: String) throws {
        let error = #expect(throws: PGError.self) { _ = try PGConnection(uri) }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(!text.contains("s3cret"), "\(text)")
        #expect(text.contains("PostgreSQL"), "\(text)")
    }

    @Test func theTargetNamesHostPortDatabaseAndUserOnly() throws {
        let target = try PGConnectionTarget(parsing: "postgresql://analyst:pw1234@db.example.com:6543/nhi?sslmode=require")
        #expect(target == PGConnectionTarget(host: "db.example.com", port: "6543", database: "nhi", user: "analyst"))
        #expect(target.description == "host=db.example.com port=6543 dbname=nhi user=analyst")
        let socket = try PGConnectionTarget(parsing: "postgresql:///nhitest?host=/tmp/s&user=postgres")
        #expect(socket.description == "host=/tmp/s port=5432 dbname=nhitest user=postgres")
        let spaced = try PGConnectionTarget(parsing: "host='/tmp/a b' dbname=x user=u password=zz")
        #expect(spaced.description == "host='/tmp/a b' port=5432 dbname=x user=u")
        #expect(!PGConnectionTarget.describe("postgresql://u:s3cretpw@h/db").contains("s3cret"))
    }
}
