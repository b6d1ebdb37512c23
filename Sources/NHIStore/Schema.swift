import NHIBasics

/// The store's schema, as ordered forward migrations. A migration that has shipped is never edited:
/// a change is a new entry at the end. `PRAGMA user_version` records the last one applied.
package enum Schema {
    package static let migrations: [(version: Int32, sql: String)] = [
        (1, """
        CREATE TABLE owners (
            id          TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            email       TEXT NOT NULL,
            team        TEXT,
            status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'departed')),
            departed_at INTEGER,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        CREATE TABLE agents (
            id                TEXT PRIMARY KEY,
            system            TEXT NOT NULL,
            owner_id          TEXT NOT NULL REFERENCES owners(id),
            status            TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'decommissioned')),
            decommissioned_at INTEGER,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL
        );
        CREATE INDEX agents_by_owner ON agents(owner_id);
        CREATE TABLE tokens (
            id               TEXT PRIMARY KEY,
            owner_id         TEXT NOT NULL REFERENCES owners(id),
            purpose          TEXT NOT NULL,
            system           TEXT NOT NULL,
            agent_id         TEXT NOT NULL REFERENCES agents(id),
            environment      TEXT,
            scopes           TEXT NOT NULL DEFAULT '',
            issued_at        INTEGER NOT NULL,
            expires_at       INTEGER,
            rotate_every     INTEGER NOT NULL,
            last_rotated_at  INTEGER,
            review_every     INTEGER NOT NULL,
            last_reviewed_at INTEGER,
            fingerprint      TEXT UNIQUE,
            labels           TEXT NOT NULL DEFAULT '{}',
            status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            revoked_at       INTEGER,
            revoke_reason    TEXT,
            last_used_at     INTEGER,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL,
            rotation_due_at  INTEGER GENERATED ALWAYS AS (COALESCE(last_rotated_at, issued_at) + rotate_every) STORED,
            review_due_at    INTEGER GENERATED ALWAYS AS (COALESCE(last_reviewed_at, issued_at) + review_every) STORED
        );
        CREATE INDEX tokens_by_owner ON tokens(owner_id);
        CREATE INDEX tokens_by_agent ON tokens(agent_id);
        CREATE INDEX tokens_by_system ON tokens(system);
        CREATE INDEX tokens_by_expiry ON tokens(status, expires_at);
        CREATE INDEX tokens_by_rotation_due ON tokens(status, rotation_due_at);
        CREATE INDEX tokens_by_review_due ON tokens(status, review_due_at);
        CREATE TABLE reviews (
            id       INTEGER PRIMARY KEY,
            token_id TEXT NOT NULL REFERENCES tokens(id),
            decision TEXT NOT NULL CHECK (decision IN ('keep', 'revoke')),
            note     TEXT,
            actor    TEXT NOT NULL,
            at       INTEGER NOT NULL
        );
        CREATE INDEX reviews_by_token ON reviews(token_id, at);
        CREATE TABLE usage (
            id          INTEGER PRIMARY KEY,
            token_id    TEXT NOT NULL REFERENCES tokens(id),
            agent_id    TEXT NOT NULL,
            at          INTEGER NOT NULL,
            tool        TEXT,
            recorded_at INTEGER NOT NULL
        );
        CREATE INDEX usage_by_token ON usage(token_id, at);
        CREATE TABLE audit_log (
            seq         INTEGER PRIMARY KEY,
            at          INTEGER NOT NULL,
            actor       TEXT NOT NULL,
            command     TEXT NOT NULL,
            action      TEXT NOT NULL,
            entity_kind TEXT NOT NULL,
            entity_id   TEXT NOT NULL,
            before      TEXT,
            after       TEXT,
            prev_hash   TEXT NOT NULL,
            hash        TEXT NOT NULL UNIQUE
        );
        CREATE INDEX audit_by_entity ON audit_log(entity_kind, entity_id, seq);
        CREATE INDEX audit_by_time ON audit_log(at);
        """),
        // Every derived-state query LEFT JOINs each token to its owner and agent for `orphaned`; covering the
        // status columns makes each of those lookups one index seek instead of an index seek and a table seek
        // (measured: the joins' CPU time halves at 1M tokens; Docs/benchmarks.md). StateQuery names them (INDEXED
        // BY): without statistics the planner prefers the unique primary-key index.
        (2, """
        CREATE INDEX owners_state ON owners(id, status, departed_at);
        CREATE INDEX agents_state ON agents(id, status, decommissioned_at);
        """),
        // audit_log without UNIQUE on hash. Nothing looks an entry up by its hash, and a repeated hash cannot pass
        // `audit verify` (each hash covers its entry's seq, the primary key, and links to the one before), but the
        // index of 64 random hex digits per entry cost a bulk import most: its pages fall out of the page cache,
        // so every insert reads and rewrites a random one (1M-token import: 18 s of 68 s CPU; Docs/benchmarks.md).
        // A unique constraint cannot be dropped in SQLite, so the table is rebuilt (the documented way: new table,
        // copy, drop, rename); this once copies the existing log.
        (3, """
        CREATE TABLE audit_log_v3 (
            seq         INTEGER PRIMARY KEY,
            at          INTEGER NOT NULL,
            actor       TEXT NOT NULL,
            command     TEXT NOT NULL,
            action      TEXT NOT NULL,
            entity_kind TEXT NOT NULL,
            entity_id   TEXT NOT NULL,
            before      TEXT,
            after       TEXT,
            prev_hash   TEXT NOT NULL,
            hash        TEXT NOT NULL
        );
        INSERT INTO audit_log_v3 (seq, at, actor, command, action, entity_kind, entity_id, before, after, prev_hash, hash)
            SELECT seq, at, actor, command, action, entity_kind, entity_id, before, after, prev_hash, hash
            FROM audit_log ORDER BY seq;
        DROP TABLE audit_log;
        ALTER TABLE audit_log_v3 RENAME TO audit_log;
        CREATE INDEX audit_by_entity ON audit_log(entity_kind, entity_id, seq);
        CREATE INDEX audit_by_time ON audit_log(at);
        """),
        // History (issue 14), after SQL:2011 system-versioned tables as MariaDB implements them: the current row
        // stays in its table (every hot path reads it unchanged) and each superseded version moves to `<table>_history`
        // with its system-time interval [valid_from, valid_to): the audit entries that made it (`made_by_seq`, null
        // when the row predates its audit trail) and ended it (`ended_by_seq`, whose `before` is this version).
        // The rows are rebuilt here from the audit trail: every entry that changed an entity holds its before.
        // A version's `last_used_at` is not audited (usage moves it), so rebuilt versions leave it null; as-of
        // reads take last use from the usage log (Docs/history.md).
        (4, """
        CREATE TABLE owners_history (
            ended_by_seq INTEGER PRIMARY KEY,
            made_by_seq  INTEGER,
            valid_from   INTEGER,
            valid_to     INTEGER NOT NULL,
            id           TEXT NOT NULL,
            name         TEXT NOT NULL,
            email        TEXT NOT NULL,
            team         TEXT,
            status       TEXT NOT NULL,
            departed_at  INTEGER,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL
        );
        CREATE INDEX owners_history_by_end ON owners_history(valid_to);
        CREATE TABLE agents_history (
            ended_by_seq      INTEGER PRIMARY KEY,
            made_by_seq       INTEGER,
            valid_from        INTEGER,
            valid_to          INTEGER NOT NULL,
            id                TEXT NOT NULL,
            system            TEXT NOT NULL,
            owner_id          TEXT NOT NULL,
            status            TEXT NOT NULL,
            decommissioned_at INTEGER,
            created_at        INTEGER NOT NULL,
            updated_at        INTEGER NOT NULL
        );
        CREATE INDEX agents_history_by_end ON agents_history(valid_to);
        CREATE TABLE tokens_history (
            ended_by_seq     INTEGER PRIMARY KEY,
            made_by_seq      INTEGER,
            valid_from       INTEGER,
            valid_to         INTEGER NOT NULL,
            id               TEXT NOT NULL,
            owner_id         TEXT NOT NULL,
            purpose          TEXT NOT NULL,
            system           TEXT NOT NULL,
            agent_id         TEXT NOT NULL,
            environment      TEXT,
            scopes           TEXT NOT NULL,
            issued_at        INTEGER NOT NULL,
            expires_at       INTEGER,
            rotate_every     INTEGER NOT NULL,
            last_rotated_at  INTEGER,
            review_every     INTEGER NOT NULL,
            last_reviewed_at INTEGER,
            fingerprint      TEXT,
            labels           TEXT NOT NULL,
            status           TEXT NOT NULL,
            revoked_at       INTEGER,
            revoke_reason    TEXT,
            last_used_at     INTEGER,
            created_at       INTEGER NOT NULL,
            updated_at       INTEGER NOT NULL
        );
        CREATE INDEX tokens_history_by_end ON tokens_history(valid_to);
        CREATE TEMP TABLE changes AS
            SELECT seq, at, entity_kind, before,
                   lag(seq) OVER (PARTITION BY entity_kind, entity_id ORDER BY seq) AS made_by_seq,
                   lag(at) OVER (PARTITION BY entity_kind, entity_id ORDER BY seq) AS valid_from
            FROM audit_log WHERE entity_kind IN ('owner', 'agent', 'token');
        INSERT INTO owners_history
            SELECT seq, made_by_seq, valid_from, at, json_extract(before, '$.id'), json_extract(before, '$.name'),
                   json_extract(before, '$.email'), json_extract(before, '$.team'), json_extract(before, '$.status'),
                   unixepoch(json_extract(before, '$.departed_at')), unixepoch(json_extract(before, '$.created_at')), unixepoch(json_extract(before, '$.updated_at'))
            FROM changes WHERE entity_kind = 'owner' AND before IS NOT NULL;
        INSERT INTO agents_history
            SELECT seq, made_by_seq, valid_from, at, json_extract(before, '$.id'), json_extract(before, '$.system'),
                   json_extract(before, '$.owner'), json_extract(before, '$.status'), unixepoch(json_extract(before, '$.decommissioned_at')), unixepoch(json_extract(before, '$.created_at')), unixepoch(json_extract(before, '$.updated_at'))
            FROM changes WHERE entity_kind = 'agent' AND before IS NOT NULL;
        INSERT INTO tokens_history
            SELECT seq, made_by_seq, valid_from, at, json_extract(before, '$.id'), json_extract(before, '$.owner'),
                   json_extract(before, '$.purpose'), json_extract(before, '$.system'), json_extract(before, '$.agent'),
                   json_extract(before, '$.environment'),
                   coalesce((SELECT group_concat(value, ',') FROM json_each(before, '$.scopes')), ''),
                   unixepoch(json_extract(before, '$.issued_at')), CASE json_extract(before, '$.expires_at') WHEN 'never' THEN NULL ELSE unixepoch(json_extract(before, '$.expires_at')) END,
                   (CAST(substr(json_extract(before, '$.rotate_every'), 1, length(json_extract(before, '$.rotate_every')) - 1) AS INTEGER) * CASE substr(json_extract(before, '$.rotate_every'), -1) WHEN 's' THEN 1 WHEN 'm' THEN 60 WHEN 'h' THEN 3600 WHEN 'd' THEN 86400 WHEN 'w' THEN 604800 END), unixepoch(json_extract(before, '$.last_rotated_at')), (CAST(substr(json_extract(before, '$.review_every'), 1, length(json_extract(before, '$.review_every')) - 1) AS INTEGER) * CASE substr(json_extract(before, '$.review_every'), -1) WHEN 's' THEN 1 WHEN 'm' THEN 60 WHEN 'h' THEN 3600 WHEN 'd' THEN 86400 WHEN 'w' THEN 604800 END), unixepoch(json_extract(before, '$.last_reviewed_at')),
                   json_extract(before, '$.fingerprint'), json(json_extract(before, '$.labels')),
                   json_extract(before, '$.status'), unixepoch(json_extract(before, '$.revoked_at')), json_extract(before, '$.revoke_reason'), NULL,
                   unixepoch(json_extract(before, '$.created_at')), unixepoch(json_extract(before, '$.updated_at'))
            FROM changes WHERE entity_kind = 'token' AND before IS NOT NULL;
        DROP TABLE temp.changes;
        """),
        // Governance (issue 15): systems with their role owners, delegated administration and freeze; exceptions
        // that waive one derived state of one token until a date; the token's issuer (the gateway that minted it).
        // The issuer references a registered system, so a bulk import's insert-first path is checked by the store.
        (5, """
        CREATE TABLE systems (
            id             TEXT PRIMARY KEY,
            kind           TEXT NOT NULL DEFAULT 'service' CHECK (kind IN ('service', 'gateway')),
            gateway_role   TEXT CHECK (gateway_role IS NULL OR gateway_role IN ('access-broker', 'token-exchanger', 'policy-enforcement-point')),
            policy_owner   TEXT NOT NULL REFERENCES owners(id),
            platform_owner TEXT NOT NULL REFERENCES owners(id),
            audit_owner    TEXT REFERENCES owners(id),
            incident_owner TEXT REFERENCES owners(id),
            managed_by     TEXT,
            boundary       TEXT,
            frozen_at      INTEGER,
            frozen_by      TEXT,
            frozen_reason  TEXT,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL
        );
        CREATE TABLE exceptions (
            id          TEXT PRIMARY KEY,
            token_id    TEXT NOT NULL REFERENCES tokens(id),
            state       TEXT NOT NULL,
            until       INTEGER NOT NULL,
            reason      TEXT NOT NULL,
            approved_by TEXT REFERENCES owners(id),
            status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            revoked_at  INTEGER,
            revoke_note TEXT,
            created_at  INTEGER NOT NULL,
            updated_at  INTEGER NOT NULL
        );
        CREATE INDEX exceptions_by_token ON exceptions(token_id, state);
        ALTER TABLE tokens ADD COLUMN issuer TEXT REFERENCES systems(id);
        CREATE INDEX tokens_by_issuer ON tokens(issuer);
        ALTER TABLE tokens_history ADD COLUMN issuer TEXT;
        """),
        // Usage that shows scope creep and human use (issue 16): a use's exercised scopes, the person who made or
        // triggered it, and the exercised scopes the token was not granted at the time of the use (decided when the
        // use is written, against the token's version in force then, so it never changes after; NULL: none). The
        // partial indexes hold only the uses that put a token in scope-creep or human-use, so `check` reads those
        // few instead of the whole log. An agent's mode (autonomous unless told) is versioned like its other
        // columns. The token's versions by id find the one in force at a use's instant.
        (6, """
        ALTER TABLE usage ADD COLUMN scopes TEXT;
        ALTER TABLE usage ADD COLUMN human TEXT;
        ALTER TABLE usage ADD COLUMN ungranted TEXT;
        CREATE INDEX usage_scope_creep ON usage(token_id, at) WHERE ungranted IS NOT NULL;
        CREATE INDEX usage_human ON usage(token_id, at) WHERE human IS NOT NULL;
        ALTER TABLE agents ADD COLUMN mode TEXT NOT NULL DEFAULT 'autonomous' CHECK (mode IN ('autonomous', 'human-triggered'));
        ALTER TABLE agents_history ADD COLUMN mode TEXT NOT NULL DEFAULT 'autonomous';
        CREATE INDEX tokens_history_by_id ON tokens_history(id, valid_to);
        """),
        // Systems and exceptions join the history (SPEC 'Time': each system and exception as it was), in the tables'
        // shape of migration 4, rebuilt here from the audit trail as migration 4 did for owners, agents and tokens.
        // Version 6 is the usage issue's (16).
        (7, """
        CREATE TABLE systems_history (
            ended_by_seq   INTEGER PRIMARY KEY,
            made_by_seq    INTEGER,
            valid_from     INTEGER,
            valid_to       INTEGER NOT NULL,
            id             TEXT NOT NULL,
            kind           TEXT NOT NULL,
            gateway_role   TEXT,
            policy_owner   TEXT NOT NULL,
            platform_owner TEXT NOT NULL,
            audit_owner    TEXT,
            incident_owner TEXT,
            managed_by     TEXT,
            boundary       TEXT,
            frozen_at      INTEGER,
            frozen_by      TEXT,
            frozen_reason  TEXT,
            created_at     INTEGER NOT NULL,
            updated_at     INTEGER NOT NULL
        );
        CREATE INDEX systems_history_by_end ON systems_history(valid_to);
        CREATE TABLE exceptions_history (
            ended_by_seq INTEGER PRIMARY KEY,
            made_by_seq  INTEGER,
            valid_from   INTEGER,
            valid_to     INTEGER NOT NULL,
            id           TEXT NOT NULL,
            token_id     TEXT NOT NULL,
            state        TEXT NOT NULL,
            until        INTEGER NOT NULL,
            reason       TEXT NOT NULL,
            approved_by  TEXT,
            status       TEXT NOT NULL,
            revoked_at   INTEGER,
            revoke_note  TEXT,
            created_at   INTEGER NOT NULL,
            updated_at   INTEGER NOT NULL
        );
        CREATE INDEX exceptions_history_by_end ON exceptions_history(valid_to);
        CREATE TEMP TABLE changes AS
            SELECT seq, at, entity_kind, before,
                   lag(seq) OVER (PARTITION BY entity_kind, entity_id ORDER BY seq) AS made_by_seq,
                   lag(at) OVER (PARTITION BY entity_kind, entity_id ORDER BY seq) AS valid_from
            FROM audit_log WHERE entity_kind IN ('system', 'exception');
        INSERT INTO systems_history
            SELECT seq, made_by_seq, valid_from, at, json_extract(before, '$.id'), json_extract(before, '$.system_kind'),
                   json_extract(before, '$.gateway_role'), json_extract(before, '$.policy_owner'),
                   json_extract(before, '$.platform_owner'), json_extract(before, '$.audit_owner'),
                   json_extract(before, '$.incident_owner'), json_extract(before, '$.managed_by'),
                   json_extract(before, '$.boundary'), unixepoch(json_extract(before, '$.frozen_at')),
                   json_extract(before, '$.frozen_by'), json_extract(before, '$.frozen_reason'),
                   unixepoch(json_extract(before, '$.created_at')), unixepoch(json_extract(before, '$.updated_at'))
            FROM changes WHERE entity_kind = 'system' AND before IS NOT NULL;
        INSERT INTO exceptions_history
            SELECT seq, made_by_seq, valid_from, at, json_extract(before, '$.id'), json_extract(before, '$.token'),
                   json_extract(before, '$.state'), unixepoch(json_extract(before, '$.until')),
                   json_extract(before, '$.reason'), json_extract(before, '$.approved_by'),
                   json_extract(before, '$.status'), unixepoch(json_extract(before, '$.revoked_at')),
                   json_extract(before, '$.revoke_note'), unixepoch(json_extract(before, '$.created_at')),
                   unixepoch(json_extract(before, '$.updated_at'))
            FROM changes WHERE entity_kind = 'exception' AND before IS NOT NULL;
        DROP TABLE temp.changes;
        """),
        // A read as of a past instant first lists the entities changed after it (Docs/history.md): per kind, the
        // audit entries after the instant. This index holds them in that order with their ids, so the list is one
        // range of the index instead of a read of every entry after the instant (large rows: before and after).
        (8, auditByKindTime + ";"),
    ]

    package static var currentVersion: Int32 { migrations.last!.version }

    /// Migration 8's index, read only as of a past instant (History).
    package static let auditByKindTime = "CREATE INDEX audit_by_kind_time ON audit_log(entity_kind, at, entity_id)"

    /// Runs `body`, a bulk write inside the caller's write transaction, with every CREATE INDEX index dropped while
    /// it runs, and creates them again after it: one sort of each finished table instead of an insertion per row at
    /// a random place (at a million tokens the token indexes outgrow the page cache). Only on a SQLite store with no
    /// record and no audit entry yet (an import into a new store); otherwise `body` alone. The PRIMARY KEY and UNIQUE
    /// indexes stay: the import's inserts are judged by them, and nothing else it reads needs the others. The
    /// indexes come back with their stored text, in the order they were made, so the schema reads as before. A
    /// throw rolls the transaction back, the DROPs with it.
    package static func buildingDeferredIndexesLast<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        guard db.dialect == .sqlite,
              try db.scalar("SELECT NOT EXISTS (SELECT 1 FROM audit_log) AND NOT EXISTS (SELECT 1 FROM owners)").int == 1 else {
            return try body()
        }
        let indexes = try db.rows("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY rowid")
            .map { (name: try $0.string("name"), sql: try $0.string("sql")) }
        for index in indexes { try db.executeScript("DROP INDEX " + SQLName.quoted(index.name)) }
        let value = try body()
        // SQLite's sorter holds as much as the page cache in memory: a small cache bounds each build's (the rest of
        // the sort goes to temporary files), and the pages the body cached are given back first.
        let cacheSize = try db.scalar("PRAGMA cache_size").int ?? -2000
        try db.executeScript("PRAGMA cache_size = -8192")
        for index in indexes { try db.executeScript(index.sql) }
        try db.executeScript("PRAGMA cache_size = \(cacheSize)")
        return value
    }
}
