import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIInventory
@testable import NHIAudit

/// The tables' columns are declared once (TokenColumn, OwnerColumn, AgentColumn); these hold the schema, the
/// literal INSERT, the records' fields and the scan's layout to that declaration, so a column added or moved in
/// one of them and not the others fails here.
@Suite struct ColumnDeclarationTests {
    func storedColumns(_ table: String, _ db: Database) throws -> [String] {
        // table_xinfo's `hidden` is 2 or 3 for generated columns, which are not stored values.
        try db.rows("SELECT name FROM pragma_table_xinfo(:table) WHERE hidden = 0 ORDER BY cid", ["table": .text(table)])
            .map { try $0.string("name") }
    }

    @Test func theDeclarationsAreTheSchemasColumnsInOrder() throws {
        let store = try Store.inMemory()
        #expect(try storedColumns("tokens", store.db) == TokenColumn.allCases.map(\.name))
        #expect(try storedColumns("owners", store.db) == OwnerColumn.allCases.map(\.name))
        #expect(try storedColumns("agents", store.db) == AgentColumn.allCases.map(\.name))
        #expect(try storedColumns("systems", store.db) == SystemColumn.allCases.map(\.name))
        #expect(try storedColumns("exceptions", store.db) == ExceptionColumn.allCases.map(\.name))
    }

    /// Systems and exceptions are written through their declarations and read back by name unchanged.
    @Test func systemsAndExceptionsRoundTripThroughEveryColumn() throws {
        let db = try Store.inMemory().db
        try db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('o', 'O', 'o@example.com', 'active', 1, 1)")
        try db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('a', 's', 'o', 'active', 1, 1)")
        let system = GovernedSystem(id: "gw", kind: "gateway", gatewayRole: "token-exchanger", policyOwner: "o", platformOwner: "o",
                                    auditOwner: "o", incidentOwner: "o", managedBy: "Acme", boundary: "contract 7",
                                    frozenAt: 5, frozenBy: "carol", frozenReason: "INC-1", createdAt: 2, updatedAt: 3)
        try db.execute(Registry.insertSystemSQL, .named(Dictionary(uniqueKeysWithValues: SystemColumn.allCases.map { ($0.name, system.storedValue($0)) })))
        #expect(try Registry.system(db, "gw") == system)
        #expect(Array(system.record.keys) == ["kind"] + SystemColumn.allCases.map(\.field))
        let token = Token(id: "t", ownerID: "o", purpose: "p", system: "gw", agentID: "a", environment: nil, scopes: [],
                          issuedAt: 0, expiresAt: nil, rotateEvery: 1, lastRotatedAt: nil, reviewEvery: 1,
                          lastReviewedAt: nil, fingerprint: nil, labels: [:], createdAt: 0, updatedAt: 0, issuer: "gw")
        try Registry.insert(db, token)
        #expect(try Registry.token(db, "t")?.issuer == "gw")
        let exception = StateException(id: "EX-1", tokenID: "t", state: "no-expiry", until: 9, reason: "r", approvedBy: "o",
                                       status: "revoked", revokedAt: 8, revokeNote: "n", createdAt: 6, updatedAt: 7)
        try db.execute(Registry.insertExceptionSQL, .named(Dictionary(uniqueKeysWithValues: ExceptionColumn.allCases.map { ($0.name, exception.storedValue($0)) })))
        #expect(try Registry.exception(db, "EX-1") == exception)
        #expect(Array(exception.record.keys) == ["kind"] + ExceptionColumn.allCases.map(\.field))
    }

    @Test(arguments: [(Registry.insertTokenSQL.description, TokenColumn.allCases.map(\.name)),
                      (Registry.insertOwnerSQL.description, OwnerColumn.allCases.map(\.name)),
                      (Registry.insertAgentSQL.description, AgentColumn.allCases.map(\.name)),
                      (AuditLog.insertSQL.description, AuditLog.columns)])
    func theBulkInsertNamesTheDeclaredColumns(sql: String, declared: [String]) {
        let list = sql[sql.firstIndex(of: "(")!...].prefix { $0 != ")" }.dropFirst()
        let names = list.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }
        #expect(names == declared)
        #expect(sql.filter { $0 == "?" }.count == declared.count)
    }

    /// Owners and agents written through their declared values read back the same (the import's batches write
    /// these values under the declared names).
    @Test func ownersAndAgentsRoundTripThroughTheirStoredValues() throws {
        let db = try Store.inMemory().db
        let owner = Owner(id: "o", name: "O", email: "o@example.com", team: "t", status: "departed", departedAt: 4,
                          createdAt: 2, updatedAt: 3)
        try db.insertRows(into: "owners", columns: OwnerColumn.allCases.map(\.name), values: owner.storedValues)
        #expect(try Registry.owner(db, "o") == owner)
        let agent = Agent(id: "a", system: "s", ownerID: "o", status: "decommissioned", decommissionedAt: 7, createdAt: 5,
                          updatedAt: 6, mode: "human-triggered")
        try db.insertRows(into: "agents", columns: AgentColumn.allCases.map(\.name), values: agent.storedValues)
        #expect(try Registry.agent(db, "a") == agent)
    }

    @Test func recordsAndExportKeysFollowTheDeclaration() {
        let token = Token(id: "t", ownerID: "o", purpose: "p", system: "s", agentID: "a", environment: nil, scopes: [],
                          issuedAt: 0, expiresAt: nil, rotateEvery: 86_400, lastRotatedAt: nil, reviewEvery: 86_400,
                          lastReviewedAt: nil, fingerprint: nil, labels: [:], createdAt: 0, updatedAt: 0)
        #expect(Array(token.record.keys) == ExchangeShape.tokenKeys)
        #expect(ExchangeShape.tokenKeys == ["kind"] + TokenColumn.allCases.map(\.field))
        // The audit snapshot is the record without last_used_at.
        #expect(Array(token.snapshot.objectValue!.keys) == ExchangeShape.tokenKeys.filter { $0 != "last_used_at" })
    }

    /// A token written through the declaration's values and read back by name is the same token, so every
    /// column's writer and reader agree.
    @Test func aTokenRoundTripsThroughEveryColumn() throws {
        let store = try Store.inMemory()
        let db = store.db
        try db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('o', 'O', 'o@example.com', 'active', 1, 1)")
        try db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('a', 's', 'o', 'active', 1, 1)")
        let token = Token(id: "t1", ownerID: "o", purpose: "purpose", system: "s", agentID: "a", environment: "prod",
                          scopes: ["repo:read", "issues:write"], issuedAt: 100, expiresAt: 200, rotateEvery: 300,
                          lastRotatedAt: 400, reviewEvery: 500, lastReviewedAt: 600, fingerprint: String(repeating: "ab", count: 32),
                          labels: ["k": "v", "a": "b"], status: "revoked", revokedAt: 700, revokeReason: "why",
                          lastUsedAt: 800, createdAt: 900, updatedAt: 1000)
        try Registry.insert(db, token)
        let back = try Token(row: try #require(try db.row("SELECT * FROM tokens WHERE id = 't1'")))
        #expect(back == token)
        var changed = token
        changed.purpose = "other"; changed.lastUsedAt = 801; changed.scopes = []
        try db.execute(Registry.updateTokenSQL, .named(Dictionary(uniqueKeysWithValues: TokenColumn.allCases.map { ($0.name, changed.storedValue($0)) })))
        #expect(try Token(row: try #require(try db.row("SELECT * FROM tokens WHERE id = 't1'"))) == changed)
    }

    /// The state scan reads a token through its layout: every field it selects comes back from the row.
    @Test func theScanLayoutReadsBackWhatItSelects() throws {
        let store = try Store.inMemory()
        let db = store.db
        try db.execute("INSERT INTO owners (id, name, email, status, created_at, updated_at) VALUES ('o', 'O', 'o@example.com', 'active', 1, 1)")
        try db.execute("INSERT INTO agents (id, system, owner_id, status, created_at, updated_at) VALUES ('a', 's', 'o', 'active', 1, 1)")
        let token = Token(id: "t1", ownerID: "o", purpose: "purpose", system: "s", agentID: "a", environment: "prod",
                          scopes: ["x"], issuedAt: 100, expiresAt: 200, rotateEvery: 300, lastRotatedAt: 400, reviewEvery: 500,
                          lastReviewedAt: 600, fingerprint: nil, labels: ["k": "v"], status: "active", revokedAt: nil,
                          revokeReason: nil, lastUsedAt: 800, createdAt: 900, updatedAt: 1000)
        try Registry.insert(db, token)
        var query = StateQuery(asOf: 10_000)
        query.everyActiveToken = true
        #expect(try query.all(db).map(\.token) == [token])
        query.fullTokens = false
        let brief = try #require(try query.all(db).first?.token)
        var expected = token
        // The brief layout leaves the columns no state or report reads empty.
        expected.purpose = ""; expected.scopes = []; expected.labels = [:]; expected.createdAt = 0; expected.updatedAt = 0
        #expect(brief == expected)
    }

    @Test func aNamedStatementRefusesAMissingArgument() throws {
        let db = try Store.inMemory().db
        #expect(throws: DatabaseError.self) { try db.scalar("SELECT :a + :b", ["a": 1]) }
        #expect(try db.scalar("SELECT :a + :b", ["a": 1, "b": 2, "unused": 3]).int == 3)
    }
}
