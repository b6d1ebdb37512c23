import Foundation
import NHIPostgres
import Testing

extension PostgresTests {
    @Suite struct Transactions {
        struct Marker: Error {}

        @Test func aCommittedTransactionKeepsItsRowsAndARolledBackOneLeavesNothing() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("CREATE TABLE t (n bigint PRIMARY KEY)")
            let kept: Int = try db.transaction {
                try db.exec("INSERT INTO t VALUES (1), (2)")
                #expect(db.isInTransaction)
                return 2
            }
            #expect(kept == 2)
            #expect(!db.isInTransaction)

            // The body's own error comes back, and nothing it wrote stays.
            #expect(throws: Marker.self) {
                try db.transaction { () throws -> Void in
                    try db.exec("INSERT INTO t VALUES (3)")
                    try db.exec("DELETE FROM t WHERE n = 1")
                    throw Marker()
                }
            }
            // A failing statement: its error (the first one) is rethrown, not the rollback's.
            expectError(.uniqueViolation) {
                try db.transaction(.serializable) { () throws -> Void in
                    try db.exec("INSERT INTO t VALUES (4)")
                    try db.exec("INSERT INTO t VALUES (2)")
                }
            }
            #expect(!db.isInTransaction)
            let left = try db.exec("SELECT n FROM t ORDER BY n").rows.map { try $0.get("n", as: Int.self) }
            #expect(left == [1, 2])
        }

        @Test func aCommitAfterASwallowedErrorIsReportedAsRolledBack() throws {
            let db = try PostgresCluster.scratch().connect()
            try db.exec("CREATE TABLE t (n bigint PRIMARY KEY)")
            try db.exec("INSERT INTO t VALUES (1)")
            // The server turns COMMIT of a failed transaction into ROLLBACK without an error: the wrapper must not
            // report success.
            expectError(.transactionAborted) {
                try db.transaction {
                    try db.exec("INSERT INTO t VALUES (2)")
                    _ = try? db.exec("INSERT INTO t VALUES (1)")
                }
            }
            #expect(try db.exec("SELECT count(*) AS c FROM t")[0].get("c", as: Int.self) == 1)
        }

        @Test func transactionsDoNotNestAndAdvisoryLocksNeedOne() throws {
            let db = try PostgresCluster.scratch().connect()
            expectError(.misuse) { try db.transaction { try db.transaction {} } }
            #expect(!db.isInTransaction)
            expectError(.misuse) { try db.advisoryTransactionLock(1) }
            expectError(.misuse) { _ = try db.tryAdvisoryTransactionLock(1) }
            let readOnly = expectError(.other) {
                try db.transaction(readOnly: true) { () throws -> Void in try db.exec("CREATE TABLE t (n int)") }
            }
            #expect(readOnly?.sqlState == "25006")  // read_only_sql_transaction
        }

        @Test func theAdvisoryLockIsHeldUntilCommitAndHonoursLockTimeout() throws {
            let scratch = try PostgresCluster.scratch()
            let a = try scratch.connect()
            let b = try scratch.connect()
            let key = PGConnection.advisoryKey("nhi.audit.\(scratch.schema)")
            try a.exec("BEGIN")
            try a.advisoryTransactionLock(key)
            try b.transaction { () throws -> Void in #expect(try b.tryAdvisoryTransactionLock(key) == false) }
            // The wait gives up after lock_timeout; the failed statement's error is the one the transaction throws.
            expectError(.lockNotAvailable) {
                try b.transaction {
                    try b.exec("SET LOCAL lock_timeout = '100ms'")
                    try b.advisoryTransactionLock(key)
                }
            }
            try a.exec("COMMIT")  // releases it
            try b.transaction { () throws -> Void in #expect(try b.tryAdvisoryTransactionLock(key) == true) }
            #expect(PGConnection.advisoryKey("nhi.audit") == PGConnection.advisoryKey("nhi.audit"))
            #expect(PGConnection.advisoryKey("nhi.audit") == 7_081_396_140_168_080_327)  // fixed: FNV-1a 64
        }

        /// Why the lock is needed: two appenders that read the same head fork the chain (here: the second insert
        /// of the same sequence number fails).
        @Test func withoutTheLockTwoAppendersReadTheSameHead() throws {
            let scratch = try PostgresCluster.scratch()
            let a = try scratch.connect()
            let b = try scratch.connect()
            try a.exec(Chain.create)
            try a.exec("BEGIN")
            try b.exec("BEGIN")
            let headA = try Chain.head(a)
            let headB = try Chain.head(b)
            #expect(headA.seq == headB.seq)
            try Chain.insert(a, after: headA, payload: "a")
            try a.exec("COMMIT")
            expectError(.uniqueViolation) { try Chain.insert(b, after: headB, payload: "b") }
            try b.exec("ROLLBACK")
        }

        @Test func concurrentAppendersUnderTheLockKeepOneLinearChain() throws {
            let scratch = try PostgresCluster.scratch()
            try scratch.connect().exec(Chain.create)
            let workers = 4
            let appends = 50
            let key = PGConnection.advisoryKey("chain.\(scratch.schema)")
            let failures = Failures()
            let done = DispatchGroup()
            for worker in 0..<workers {
                done.enter()
                // Real threads, each with its own connection: they block in libpq, which must not happen on the
                // cooperative pool.
                let thread = Thread {
                    defer { done.leave() }
                    do {
                        let db = try scratch.connect()
                        for i in 0..<appends {
                            try db.transaction {
                                try db.advisoryTransactionLock(key)
                                try Chain.insert(db, after: try Chain.head(db), payload: "w\(worker)-\(i)")
                            }
                        }
                    } catch {
                        failures.add("worker \(worker): \(error)")
                    }
                }
                thread.start()
            }
            done.wait()
            #expect(failures.all.isEmpty, "\(failures.all)")
            let db = try scratch.connect()
            let rows = try db.exec("SELECT seq, prev, hash FROM chain ORDER BY seq").rows
            #expect(rows.count == workers * appends)
            var previous = ""
            for (index, row) in rows.enumerated() {
                #expect(try row.get("seq", as: Int.self) == index + 1)
                #expect(try row.get("prev", as: String.self) == previous)
                previous = try row.get("hash", as: String.self)
            }
            let broken = try db.exec("SELECT count(*) AS c FROM chain WHERE hash <> \(Chain.hashSQL)")
            #expect(try broken[0].get("c", as: Int.self) == 0)
        }
    }
}

/// A hash chain like the audit log's: each row names the previous row's hash.
enum Chain {
    static let create = """
        CREATE TABLE chain (seq bigint PRIMARY KEY, prev text NOT NULL UNIQUE, hash text NOT NULL,
                            payload text NOT NULL)
        """
    static let hashSQL = "encode(sha256(convert_to(prev || '|' || payload, 'UTF8')), 'hex')"

    static func head(_ db: PGConnection) throws -> (seq: Int64, hash: String) {
        guard let row = try db.exec("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").first else {
            return (0, "")
        }
        return (try row.get("seq", as: Int64.self), try row.get("hash", as: String.self))
    }

    static func insert(_ db: PGConnection, after head: (seq: Int64, hash: String), payload: String) throws {
        try db.exec("""
            INSERT INTO chain (seq, prev, hash, payload)
            VALUES ($1, $2::text, encode(sha256(convert_to($2::text || '|' || $3::text, 'UTF8')), 'hex'), $3)
            """, params: [.int(head.seq + 1), .text(head.hash), .text(payload)])
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}
