import NHIBasics
import NHIFormats
import NHIStore

/// Reads owners, agents and tokens (the changes are NHIInventory's extension).
public enum Registry {
    // MARK: Reading

    public static func owner(_ db: Database, _ id: String) throws -> Owner? {
        try db.row("SELECT * FROM owners WHERE id = ?", [.text(id)]).map(Owner.init(row:))
    }

    public static func agent(_ db: Database, _ id: String) throws -> Agent? {
        try db.row("SELECT * FROM agents WHERE id = ?", [.text(id)]).map(Agent.init(row:))
    }

    public static func token(_ db: Database, _ id: String) throws -> Token? {
        try db.row("SELECT * FROM tokens WHERE id = ?", [.text(id)]).map(Token.init(row:))
    }

    /// " (did you mean X?)" for the id in `table` nearest to a mistyped one, or "". Only ids within 3 characters of
    /// its length can be within the suggestion's distance, so only those are read (an error path, never per row).
    enum IDTable: String { case owners, agents, tokens }

    static func didYouMean(_ db: Database, table: IDTable, _ id: String) -> String {
        // The table name is one of three fixed literals, never user data.
        let sql = "SELECT id FROM \(table.rawValue) WHERE length(id) BETWEEN :lo AND :hi LIMIT 200000"
        let n = Int64(id.count)
        guard let rows = try? db.rows(sql, ["lo": .int(n - 3), "hi": .int(n + 3)]) else { return "" }
        let ids = rows.compactMap { try? $0.string("id") }
        // Stricter than for flags: ids are arbitrary, so a short unrelated id ("bot" for "ghost") is not suggested.
        guard let near = Suggest.nearest(id, among: ids), Suggest.distance(id, near) <= max(2, id.count / 3) else { return "" }
        return " (did you mean \(Redaction.printable(near))?)"
    }

    public static func requireOwner(_ db: Database, _ id: String) throws -> Owner {
        guard let owner = try owner(db, id) else {
            throw NHIError.data("unknown owner '\(Redaction.printable(id))'\(didYouMean(db, table: .owners, id)) (add it with: nhi owner add \(Redaction.printable(id)) --name NAME --email EMAIL)")
        }
        return owner
    }

    public static func requireAgent(_ db: Database, _ id: String) throws -> Agent {
        guard let agent = try agent(db, id) else {
            throw NHIError.data("unknown agent '\(Redaction.printable(id))'\(didYouMean(db, table: .agents, id)) (add it with: nhi agent add \(Redaction.printable(id)) --system SYSTEM --owner OWNER)")
        }
        return agent
    }

    public static func requireToken(_ db: Database, _ id: String) throws -> Token {
        guard let token = try token(db, id) else {
            throw NHIError.data("unknown token '\(Redaction.printable(id))'\(didYouMean(db, table: .tokens, id)) (see: nhi token list)")
        }
        return token
    }

    public static func owners(_ db: Database, status: String? = nil) throws -> [Owner] {
        try db.rows("SELECT * FROM owners WHERE (:status IS NULL OR status = :status) ORDER BY id", ["status": status.sql])
            .map(Owner.init(row:))
    }

    public static func agents(_ db: Database, owner: String? = nil, status: String? = nil) throws -> [Agent] {
        try db.rows("""
            SELECT * FROM agents WHERE (:owner IS NULL OR owner_id = :owner) AND (:status IS NULL OR status = :status) ORDER BY id
            """, ["owner": owner.sql, "status": status.sql]).map(Agent.init(row:))
    }

    public struct TokenFilter: Sendable {
        public var owner: String?
        public var system: String?
        public var agent: String?
        public var status: String?
        public var environment: String?
        public init(owner: String? = nil, system: String? = nil, agent: String? = nil, status: String? = nil,
                    environment: String? = nil) {
            self.owner = owner; self.system = system; self.agent = agent; self.status = status
            self.environment = environment
        }
    }

    public static func forEachToken(_ db: Database, _ filter: TokenFilter = .init(), _ body: (Token) throws -> Void) throws {
        try db.forEachRow("""
            SELECT * FROM tokens
            WHERE (:owner IS NULL OR owner_id = :owner) AND (:system IS NULL OR system = :system)
              AND (:agent IS NULL OR agent_id = :agent) AND (:status IS NULL OR status = :status)
              AND (:environment IS NULL OR environment = :environment)
            ORDER BY id
            """, ["owner": filter.owner.sql, "system": filter.system.sql, "agent": filter.agent.sql, "status": filter.status.sql,
                  "environment": filter.environment.sql]) {
            try body(Token(row: $0))
        }
    }

    public static func tokenCount(_ db: Database) throws -> Int64 {
        try History.count(db, "tokens")
    }

    /// Whether any token is recorded: one row, not a count (as of a past instant the count reads the whole view).
    public static func hasTokens(_ db: Database) throws -> Bool {
        try db.row("SELECT 1 AS one FROM tokens LIMIT 1") != nil
    }
}
