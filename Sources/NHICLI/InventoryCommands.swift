import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit
import NHIInventory
import NHIReports
import NHIScan
import NHIOutput

/// `owner`, `agent` and `token` commands: the registry.
public enum InventoryCommands {
    public static var all: [CommandSpec] { owner + agent + [agentUpdate, agentTransfer] + token }

    package static let listFormats = CommandSpec.listFormats

    // MARK: owner

    package static let owner: [CommandSpec] = [
        CommandSpec(["owner", "add"], abstract: "Register an accountable owner.",
                    arguments: [ArgumentSpec("ID", help: "The owner's id (e.g. alice or team/platform).")],
                    options: [OptionSpec("name", value: "NAME", help: "Full name.", required: true),
                              OptionSpec("email", value: "EMAIL", help: "Email address.", required: true),
                              OptionSpec("team", value: "TEAM", help: "Team.")],
                    examples: ["nhi owner add alice --name 'Alice Ng' --email alice@example.com --team platform"]) { inv in
            let id = try Fields.id.check(inv.required("ID"), label: "owner id")
            let name = try value(Fields.name, inv)!
            let email = try value(Fields.email, inv)!
            let team = try value(Fields.team, inv)
            let audit = try inv.auditContext()
            let owner = Owner(id: id, name: name, email: email, team: team, createdAt: audit.at, updatedAt: audit.at)
            try inv.write { db in try Registry.addOwner(db, owner, audit: audit) }
            inv.out.line("added owner \(id)")
            return .success
        },
        CommandSpec(["owner", "list"], abstract: "List owners.",
                    options: [OptionSpec("status", value: "STATUS", help: "Only owners with this status.", choices: Fields.ownerStatuses)],
                    formats: listFormats, examples: ["nhi owner list --status departed --format csv"]) { inv in
            let owners = try inv.read { db in try Registry.owners(db, status: inv.value("status")) }
            let writer = RecordWriter(format: inv.format, columns: Owner.columns, sink: inv.out, colour: inv.colour)
            owners.forEach { writer.write($0.record) }
            try writer.finish(emptyMessage: "no owners")
            return .success
        },
        CommandSpec(["owner", "show"], abstract: "Show one owner, with their agents and token counts.",
                    arguments: [ArgumentSpec("ID", help: "The owner's id.")], formats: listFormats,
                    examples: ["nhi owner show alice --format json"]) { inv in
            let record = try inv.read { db -> JSONObject in
                let owner = try Registry.requireOwner(db, inv.required("ID"))
                var record = owner.record
                record["agents"] = .array(try Registry.agents(db, owner: owner.id).map { .string($0.id) })
                let active = try db.scalar("SELECT count(*) FROM tokens WHERE owner_id = ? AND status = 'active'", [.text(owner.id)])
                record["active_tokens"] = .int(active.int ?? 0)
                return record
            }
            Render.show(record, format: inv.format, sink: inv.out)
            return .success
        },
    ]

    // MARK: agent

    package static let agent: [CommandSpec] = [
        CommandSpec(["agent", "add"], abstract: "Register an agent (the workload a token is bound to).",
                    arguments: [ArgumentSpec("ID", help: "The agent's id (e.g. support-bot).")],
                    options: [OptionSpec("system", value: "SYSTEM", help: "The system the agent runs in or serves.", required: true),
                              OptionSpec("owner", value: "OWNER", help: "The accountable owner's id.", required: true),
                              modeOption],
                    examples: ["nhi agent add support-bot --system zendesk --owner alice",
                               "nhi agent add release-helper --system github --owner alice --mode human-triggered"]) { inv in
            let id = try Fields.id.check(inv.required("ID"), label: "agent id")
            let system = try value(Fields.system, inv)!
            let owner = try value(Fields.owner, inv)!
            let mode = try value(Fields.agentMode, inv) ?? Agent.defaultMode
            let audit = try inv.auditContext()
            let agent = Agent(id: id, system: system, ownerID: owner, createdAt: audit.at, updatedAt: audit.at, mode: mode)
            try inv.write { db in try Registry.addAgent(db, agent, audit: audit) }
            inv.out.line("added agent \(id)")
            return .success
        },
        CommandSpec(["agent", "list"], abstract: "List agents.",
                    options: [OptionSpec("owner", value: "OWNER", help: "Only this owner's agents."),
                              OptionSpec("status", value: "STATUS", help: "Only agents with this status.", choices: Fields.agentStatuses),
                              OptionSpec("mode", value: "MODE", help: "Only agents with this mode.", choices: Agent.modes)],
                    formats: listFormats, examples: ["nhi agent list --owner alice --format csv",
                                                     "nhi agent list --mode human-triggered"]) { inv in
            let agents = try inv.read { db in
                try Registry.agents(db, owner: inv.value("owner"), status: inv.value("status")).filter { agent in
                    inv.value("mode").map { $0 == agent.mode } ?? true
                }
            }
            let writer = RecordWriter(format: inv.format, columns: Agent.columns, sink: inv.out, colour: inv.colour)
            agents.forEach { writer.write($0.record) }
            try writer.finish(emptyMessage: "no agents")
            return .success
        },
        CommandSpec(["agent", "show"], abstract: "Show one agent, with the tokens bound to it.",
                    arguments: [ArgumentSpec("ID", help: "The agent's id.")], formats: listFormats,
                    examples: ["nhi agent show support-bot"]) { inv in
            let record = try inv.read { db -> JSONObject in
                let agent = try Registry.requireAgent(db, inv.required("ID"))
                var record = agent.record
                var tokens: [JSON] = []
                try Registry.forEachToken(db, .init(agent: agent.id)) { tokens.append(.string($0.id)) }
                record["tokens"] = .array(tokens)
                return record
            }
            Render.show(record, format: inv.format, sink: inv.out)
            return .success
        },
    ]

    /// `--mode` of `agent add` and `agent update`: declared once so help and parsing agree.
    package static let modeOption = OptionSpec(
        "mode", value: "MODE",
        help: "autonomous (default: no person should use its tokens; a use with --human is human-use) or human-triggered (a person starts each run).",
        choices: Agent.modes)

    package static let agentUpdate = CommandSpec(
        ["agent", "update"], abstract: "Change an agent's system or mode.",
        discussion: "The change is audited and the agent's previous version kept in its history, so --as-of reads it as it was.",
        arguments: [ArgumentSpec("ID", help: "The agent's id.")],
        options: [OptionSpec("system", value: "SYSTEM", help: "The system the agent runs in or serves."), modeOption],
        examples: ["nhi agent update release-helper --mode human-triggered", "nhi agent update support-bot --system zendesk-eu"]) { inv in
        let id = inv.required("ID")
        let system = try value(Fields.system, inv)
        let mode = try value(Fields.agentMode, inv)
        guard system != nil || mode != nil else { throw NHIError.usage("agent update needs --system or --mode (see: nhi agent update --help)") }
        let audit = try inv.auditContext()
        let changed = try inv.write { db -> Bool in
            let before = try Registry.requireAgent(db, id)
            var agent = before
            if let system { agent.system = system }
            if let mode { agent.mode = mode }
            guard agent != before else { return false }
            agent.updatedAt = audit.at
            try Registry.save(db, agent, before: before, action: "agent.update", audit: audit)
            return true
        }
        inv.out.line(changed ? "updated agent \(id)" : "agent \(id) unchanged")
        return .success
    }

    package static let agentTransfer = CommandSpec(
        ["agent", "transfer"], abstract: "Give an agent a new accountable owner.",
        discussion: "An agent whose owner departed leaves its tokens orphaned until it has an active owner again.",
        arguments: [ArgumentSpec("ID", help: "The agent's id.")],
        options: [OptionSpec("to", value: "OWNER", help: "The new owner's id (an active owner).", required: true)],
        examples: ["nhi agent transfer support-bot --to erin"]) { inv in
        let id = inv.required("ID")
        let to = try Validation.id(inv.value("to")!, field: "--to")
        let audit = try inv.auditContext()
        try inv.write { db in
            let before = try Registry.requireAgent(db, id)
            guard before.ownerID != to else { throw NHIError.data("agent '\(id)' is already owned by '\(to)'") }
            let owner = try Registry.requireOwner(db, to)
            guard owner.status == "active" else { throw NHIError.data("owner '\(to)' has departed; transfer the agent to an active owner") }
            var agent = before
            agent.ownerID = to
            agent.updatedAt = audit.at
            try Registry.save(db, agent, before: before, action: "agent.transfer", audit: audit)
        }
        inv.out.line("transferred agent \(id) to \(to)")
        return .success
    }

    // MARK: token

    /// Flags shared by `register` and `update`: declared once so help and parsing agree.
    package static func tokenOptions(required: Bool) -> [OptionSpec] {
        [
            OptionSpec(Fields.owner.flag, value: "OWNER", help: "The accountable owner's id.", required: required),
            OptionSpec(Fields.purpose.flag, value: "TEXT", help: "The business purpose.", required: required),
            OptionSpec(Fields.system.flag, value: "SYSTEM", help: "The owning system (e.g. github).", required: required),
            OptionSpec(Fields.agent.flag, value: "AGENT", help: "The agent the token is bound to.", required: required),
            OptionSpec(Fields.expires.flag, value: "DATE", help: "Expiry: 2027-01-31, full ISO 8601, +30d, or 'never' written out.", required: required),
            OptionSpec(Fields.environment.flag, value: "ENV", help: "Environment (e.g. prod, staging)."),
            OptionSpec(Fields.scopes.flag, value: "A,B", help: "Comma-separated scopes (replaces the list)."),
            OptionSpec(Fields.rotateEvery.flag, value: "DURATION", help: "Rotation interval (default \(Duration.format(Token.defaultRotateEvery)))."),
            OptionSpec(Fields.reviewEvery.flag, value: "DURATION", help: "Review interval (default \(Duration.format(Token.defaultReviewEvery)))."),
            OptionSpec("label", value: "KEY=VALUE", help: "A label (KEY= with no value removes it on update).", repeatable: true),
            OptionSpec(Fields.issuedAt.flag, value: "DATE", help: "When the token was issued (default: now)."),
            OptionSpec(Fields.issuer.flag, value: "SYSTEM", help: "The registered system (gateway or broker) that minted it."),
            OptionSpec("secret-stdin", help: "Read the token's value from stdin and keep only its SHA-256 fingerprint."),
        ]
    }

    /// Reads the secret from stdin: one trailing newline is dropped; the value itself is never kept or printed.
    package static func fingerprintFromStdin(_ inv: Invocation) throws(NHIError) -> String {
        guard var bytes = inv.environment.readStdin() else { throw .data("--secret-stdin: nothing on standard input") }
        // The reader stops just past 1 MiB: fingerprinting a cut-off prefix would record the wrong value.
        guard bytes.count <= 1 << 20 else { throw .data("--secret-stdin: standard input is larger than 1 MiB; pipe only the token's value") }
        if bytes.last == 10 { bytes.removeLast(); if bytes.last == 13 { bytes.removeLast() } }
        guard !bytes.isEmpty else { throw .data("--secret-stdin: standard input was empty (pipe the token's value in)") }
        return SHA256.fingerprint(ofSecret: bytes)
    }

    /// `field`'s flag, checked by the field's one rule (messages name `--flag`, as import's name the column);
    /// nil when the flag is absent.
    package static func value<T>(_ field: Field<T>, _ inv: Invocation) throws(NHIError) -> T? {
        guard let text = inv.value(field.flag) else { return nil }
        return try field.check(text, label: "--" + field.flag, now: inv.currentTime)
    }

    /// Applies the shared token flags to `token` (every value validated first).
    package static func apply(_ inv: Invocation, to token: inout Token) throws(NHIError) {
        if let v = try value(Fields.owner, inv) { token.ownerID = v }
        if let v = try value(Fields.purpose, inv) { token.purpose = v }
        if let v = try value(Fields.system, inv) { token.system = v }
        if let v = try value(Fields.agent, inv) { token.agentID = v }
        if let v = try value(Fields.environment, inv) { token.environment = v }
        if let v = try value(Fields.scopes, inv) { token.scopes = v }
        if let v = try value(Fields.rotateEvery, inv) { token.rotateEvery = v }
        if let v = try value(Fields.reviewEvery, inv) { token.reviewEvery = v }
        if let v = try value(Fields.issuedAt, inv) {
            token.issuedAt = v
            if let (field, message) = Validation.consistency(of: token, now: try inv.currentTime()), field == "issued_at" {
                throw .data("--issued-at: \(message)")
            }
        }
        if let v = try value(Fields.expires, inv) { token.expiresAt = v }
        if let v = try value(Fields.issuer, inv) { token.issuer = v }
        for pair in inv.values("label") {
            let (key, value) = try Validation.label(pair)
            token.labels[key] = value.isEmpty ? nil : value
        }
        if inv.flag("secret-stdin") { token.fingerprint = try fingerprintFromStdin(inv) }
        try Validation.labelCount(token.labels.count)
    }

    package static let token: [CommandSpec] = [
        CommandSpec(["token", "register"], abstract: "Register a token by its identifier (never its value).",
                    discussion: "The token's value is never an argument: pipe it to --secret-stdin and only its SHA-256 fingerprint is kept.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier (e.g. gh-support-bot-prod).")],
                    options: tokenOptions(required: true),
                    examples: ["nhi token register gh-support-bot --owner alice --purpose 'triage issues' --system github --agent support-bot --expires +30d --scopes repo:read,issues:write",
                               "printf %s \"$TOKEN\" | nhi token register gh-ci --owner alice --purpose ci --system github --agent ci-bot --expires never --secret-stdin"]) { inv in
            let id = try Fields.id.check(inv.required("ID"), label: "token id")
            let audit = try inv.auditContext()
            var token = Token(id: id, ownerID: "", purpose: "", system: "", agentID: "", environment: nil, scopes: [],
                              issuedAt: audit.at, expiresAt: nil, rotateEvery: Token.defaultRotateEvery, lastRotatedAt: nil,
                              reviewEvery: Token.defaultReviewEvery, lastReviewedAt: nil, fingerprint: nil, labels: [:],
                              createdAt: audit.at, updatedAt: audit.at)
            try apply(inv, to: &token)
            let policy = try inv.policyGate()
            try inv.write { db in
                try policy?.admit(token, db: db)
                try Registry.register(db, token, audit: audit)
            }
            inv.out.line("registered token \(id)")
            return .success
        },
        CommandSpec(["token", "list"], abstract: "List tokens.",
                    options: [OptionSpec("owner", value: "OWNER", help: "Only this owner's tokens."),
                              OptionSpec("system", value: "SYSTEM", help: "Only tokens of this system."),
                              OptionSpec("agent", value: "AGENT", help: "Only tokens bound to this agent."),
                              OptionSpec("status", value: "STATUS", help: "Only tokens with this status.", choices: Fields.tokenStatuses),
                              OptionSpec("environment", value: "ENV", help: "Only tokens of this environment."),
                              OptionSpec("state", value: "STATE", help: "Only active tokens in this derived state as of --as-of.",
                                         choices: DerivedState.allCases.map(\.rawValue))],
                    formats: listFormats, examples: ["nhi token list --owner alice --status active --format json",
                                                     "nhi token list --state expired --as-of 2026-07-01"]) { inv in
            let filter = Registry.TokenFilter(owner: inv.value("owner"), system: inv.value("system"), agent: inv.value("agent"),
                                              status: inv.value("status"), environment: inv.value("environment"))
            let writer = RecordWriter(format: inv.format, columns: Token.columns, sink: inv.out, colour: inv.colour)
            if let name = inv.value("state"), let state = DerivedState(rawValue: name) {
                // Evaluated as of --as-of through the one definition, like the reports; the other filters narrow it.
                var query = StateQuery(asOf: try inv.asOf(), states: [state])
                let policy = try inv.policyGate()
                if let limit = policy?.maxUnused { query.maxUnused = limit }
                try inv.read { db in
                    try query.forEach(db) { ts in
                        let t = ts.token
                        guard filter.owner.map({ $0 == t.ownerID }) ?? true, filter.system.map({ $0 == t.system }) ?? true,
                              filter.agent.map({ $0 == t.agentID }) ?? true, filter.status.map({ $0 == t.status }) ?? true,
                              filter.environment.map({ $0 == t.environment }) ?? true else { return }
                        writer.write(t.record)
                    }
                }
                try writer.finish(emptyMessage: "no tokens")
                return .success
            }
            try inv.read { db in try Registry.forEachToken(db, filter) { writer.write($0.record) } }
            try writer.finish(emptyMessage: "no tokens")
            return .success
        },
        CommandSpec(["token", "show"], abstract: "Show one token.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier.")], formats: listFormats,
                    examples: ["nhi token show gh-support-bot --format json"]) { inv in
            let asOf = try inv.asOf()
            let record = try inv.read { db -> JSONObject in
                let token = try Registry.requireToken(db, inv.required("ID"))
                var record = token.record
                // The token's derived states as of --as-of, from the one definition (StateQuery).
                var query = StateQuery(asOf: asOf)
                query.extraCondition = "t.id = :token"
                query.extraArguments = ["token": .text(token.id)]
                let states = try query.all(db).first
                record["states"] = .array((states?.states ?? []).map { .string($0.rawValue) })
                record["state_reasons"] = .array((states?.states ?? []).map { .string("\($0.rawValue): \(states!.reason($0, maxUnused: query.maxUnused))") })
                record["reviews"] = .array(try Reviews.history(db, tokenID: token.id).map { .object($0.record) })
                return record
            }
            Render.show(record, format: inv.format, sink: inv.out)
            return .success
        },
        CommandSpec(["token", "update"], abstract: "Change a token's recorded fields.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier.")],
                    options: tokenOptions(required: false),
                    examples: ["nhi token update gh-support-bot --expires 2027-03-01 --label ticket=SEC-42"]) { inv in
            let id = inv.required("ID")
            let audit = try inv.auditContext()
            let policy = try inv.policyGate()
            try inv.write { db in
                let before = try Registry.requireToken(db, id)
                var token = before
                try apply(inv, to: &token)
                guard token != before else { throw NHIError.data("nothing to change: give at least one flag that differs (see: nhi token update --help)") }
                token.updatedAt = audit.at
                try policy?.admit(token, db: db)
                try Registry.save(db, token, before: before, action: "token.update", audit: audit)
            }
            inv.out.line("updated token \(id)")
            return .success
        },
        CommandSpec(["token", "rotate"], abstract: "Record that a token's value was replaced.",
                    discussion: "Pass the new value on stdin with --secret-stdin to record its fingerprint; without it the old fingerprint is cleared, since it no longer names the live value.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier.")],
                    options: [OptionSpec("secret-stdin", help: "Read the new value from stdin and keep only its fingerprint."),
                              OptionSpec("expires", value: "DATE", help: "The new expiry (date, +30d or never).")],
                    examples: ["printf %s \"$NEW_TOKEN\" | nhi token rotate gh-support-bot --secret-stdin --expires +30d"]) { inv in
            let id = inv.required("ID")
            let audit = try inv.auditContext()
            let fingerprint = inv.flag("secret-stdin") ? try fingerprintFromStdin(inv) : nil
            let expires = try value(Fields.expires, inv)
            let policy = try inv.policyGate()
            try inv.write { db in
                let before = try Registry.requireToken(db, id)
                guard before.status == "active" else { throw NHIError.data("token '\(id)' is revoked; register a new token instead") }
                if let fingerprint, fingerprint == before.fingerprint {
                    throw NHIError.data("the new value is the same as the current one: a rotation must replace the secret")
                }
                var token = before
                token.lastRotatedAt = audit.at
                token.fingerprint = fingerprint
                if let expires { token.expiresAt = expires }
                token.updatedAt = audit.at
                try policy?.admit(token, db: db)
                try Registry.save(db, token, before: before, action: "token.rotate", audit: audit)
            }
            inv.out.line("rotated token \(id)" + (fingerprint == nil ? " (fingerprint cleared: pass --secret-stdin to record the new value's)" : ""))
            return .success
        },
        CommandSpec(["token", "revoke"], abstract: "Record that a token was revoked.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier.")],
                    options: [OptionSpec("reason", value: "TEXT", help: "Why it was revoked.", required: true)],
                    examples: ["nhi token revoke gh-support-bot --reason 'agent retired'"]) { inv in
            let id = inv.required("ID")
            let reason = try value(Fields.revokeReason, inv)!
            let audit = try inv.auditContext()
            try inv.write { db in try Registry.revoke(db, id: id, reason: reason, audit: audit) }
            inv.out.line("revoked token \(id)")
            return .success
        },
        CommandSpec(["token", "transfer"], abstract: "Give a token a new accountable owner.",
                    arguments: [ArgumentSpec("ID", help: "The token's identifier.")],
                    options: [OptionSpec("to", value: "OWNER", help: "The new owner's id.", required: true)],
                    examples: ["nhi token transfer gh-support-bot --to bob"]) { inv in
            let id = inv.required("ID")
            let to = try Fields.owner.check(inv.value("to")!, label: "--to")
            let audit = try inv.auditContext()
            try inv.write { db in
                let before = try Registry.requireToken(db, id)
                guard before.ownerID != to else { throw NHIError.data("token '\(id)' is already owned by '\(to)'") }
                var token = before
                token.ownerID = to
                token.updatedAt = audit.at
                try Registry.save(db, token, before: before, action: "token.transfer", audit: audit)
            }
            inv.out.line("transferred token \(id) to \(to)")
            return .success
        },
    ]

    /// Revokes one active token (shared by `token revoke`, reviews and offboarding).
}
