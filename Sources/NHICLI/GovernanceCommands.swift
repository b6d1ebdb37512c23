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

/// `system ...` and `exception ...`: who is accountable for each system, freezes, incident revocation, and
/// exceptions that waive a state (SPEC "Governance", Docs/governance.md).
public enum GovernanceCommands {
    public static var all: [CommandSpec] { system + exception }

    package static let listFormats = CommandSpec.listFormats

    /// Flags shared by `system add` and `system update`.
    package static func systemOptions(required: Bool) -> [OptionSpec] {
        [
            OptionSpec("policy-owner", value: "OWNER", help: "Owns issuance criteria, approved scopes and exceptions.", required: required),
            OptionSpec("platform-owner", value: "OWNER", help: "Owns the gateway's configuration and the service's health.", required: required),
            OptionSpec("audit-owner", value: "OWNER", help: "Owns the audits of the system's credentials."),
            OptionSpec("incident-owner", value: "OWNER", help: "May freeze issuance and revoke during an incident."),
            OptionSpec("kind", value: "KIND", help: "service (default) or gateway.", choices: GovernedSystem.kinds),
            OptionSpec("gateway-role", value: "ROLE", help: "What a gateway does with credentials.", choices: GovernedSystem.gatewayRoles),
            OptionSpec("managed-by", value: "TEXT", help: "Who administers the system on the organisation's behalf (a vendor)."),
            OptionSpec("boundary", value: "TEXT", help: "Where the written responsibility boundary with that administrator is."),
        ]
    }

    package static func apply(_ inv: Invocation, to system: inout GovernedSystem) throws(NHIError) {
        if let v = inv.value("policy-owner") { system.policyOwner = try Validation.id(v, field: "--policy-owner") }
        if let v = inv.value("platform-owner") { system.platformOwner = try Validation.id(v, field: "--platform-owner") }
        if let v = inv.value("audit-owner") { system.auditOwner = try Validation.id(v, field: "--audit-owner") }
        if let v = inv.value("incident-owner") { system.incidentOwner = try Validation.id(v, field: "--incident-owner") }
        if let v = inv.value("kind") {
            system.kind = v
            if v == "service" && inv.value("gateway-role") == nil { system.gatewayRole = nil }
        }
        if let v = inv.value("gateway-role") { system.gatewayRole = v }
        if let v = inv.value("managed-by") { system.managedBy = try Validation.text(v, field: "--managed-by", limit: Validation.Limit.name) }
        if let v = inv.value("boundary") { system.boundary = try Validation.text(v, field: "--boundary", limit: Validation.Limit.note) }
    }

    package static let system: [CommandSpec] = [
        CommandSpec(["system", "add"], abstract: "Register a system and who is accountable for it.",
                    discussion: "Role owners must be registered, active owners. A gateway states its role.",
                    arguments: [ArgumentSpec("ID", help: "The system's id, as tokens name it (--system or --issuer).")],
                    options: systemOptions(required: true),
                    examples: ["nhi system add github --policy-owner alice --platform-owner bob --incident-owner carol",
                               "nhi system add mcp-gw --kind gateway --gateway-role token-exchanger --policy-owner alice --platform-owner bob --managed-by 'Acme MCP Cloud' --boundary 'contract 7.2'"]) { inv in
            let id = try Validation.id(inv.required("ID"), field: "system id")
            let audit = try inv.auditContext()
            var system = GovernedSystem(id: id, policyOwner: "", platformOwner: "", createdAt: audit.at, updatedAt: audit.at)
            try apply(inv, to: &system)
            try inv.write { db in try Registry.addSystem(db, system, audit: audit) }
            inv.out.line("added system \(id)")
            return .success
        },
        CommandSpec(["system", "list"], abstract: "List registered systems.", formats: listFormats,
                    examples: ["nhi system list --format json"]) { inv in
            let systems = try inv.read { db in try Registry.systems(db) }
            let writer = RecordWriter(format: inv.format, columns: GovernedSystem.columns, sink: inv.out, colour: inv.colour)
            systems.forEach { writer.write($0.record) }
            try writer.finish(emptyMessage: "no systems")
            return .success
        },
        CommandSpec(["system", "show"], abstract: "Show one system, its role owners' status and its active tokens.",
                    arguments: [ArgumentSpec("ID", help: "The system's id.")], formats: listFormats,
                    examples: ["nhi system show github"]) { inv in
            let record = try inv.read { db -> JSONObject in
                let system = try Registry.requireSystem(db, inv.required("ID"))
                var record = system.record
                for role in SystemColumn.roles {
                    guard let id = system.owner(role) else { continue }
                    record[role.name + "_status"] = .string(try Registry.owner(db, id)?.status ?? "unknown")
                }
                record["active_tokens"] = .array(try Registry.activeTokens(db, system: system.id).map { .string($0.id) })
                return record
            }
            Render.show(record, format: inv.format, sink: inv.out)
            return .success
        },
        CommandSpec(["system", "update"], abstract: "Change a system's roles, kind or delegated administration.",
                    arguments: [ArgumentSpec("ID", help: "The system's id.")], options: systemOptions(required: false),
                    examples: ["nhi system update github --policy-owner erin"]) { inv in
            let id = inv.required("ID")
            let audit = try inv.auditContext()
            try inv.write { db in
                let before = try Registry.requireSystem(db, id)
                var system = before
                try apply(inv, to: &system)
                guard system != before else { throw NHIError.data("nothing to change: give at least one flag that differs (see: nhi system update --help)") }
                system.updatedAt = audit.at
                try Registry.save(db, system, before: before, action: "system.update", audit: audit)
            }
            inv.out.line("updated system \(id)")
            return .success
        },
        CommandSpec(["system", "freeze"], abstract: "Stop all issuance for a system (an incident).",
                    discussion: "While frozen, token register naming the system (as system or issuer), token rotate, an update that extends an expiry and an import that creates or extends such a token are refused. Revoking, reviewing, transferring and offboarding stay allowed.",
                    arguments: [ArgumentSpec("ID", help: "The system's id.")],
                    options: [OptionSpec("reason", value: "TEXT", help: "Why (shown in every refusal).", required: true)],
                    examples: ["nhi system freeze mcp-gw --reason 'INC-981 token leak'"]) { inv in
            let id = inv.required("ID")
            let reason = try Validation.text(inv.value("reason")!, field: "--reason", limit: Validation.Limit.reason)
            let audit = try inv.auditContext()
            try inv.write { db in try Registry.freeze(db, id: id, reason: reason, audit: audit) }
            inv.out.line("froze system \(id)")
            return .success
        },
        CommandSpec(["system", "unfreeze"], abstract: "Allow issuance for a frozen system again.",
                    arguments: [ArgumentSpec("ID", help: "The system's id.")],
                    options: [OptionSpec("note", value: "TEXT", help: "What was done (kept in the audit log).")],
                    examples: ["nhi system unfreeze mcp-gw --note 'keys rotated at the vendor'"]) { inv in
            let id = inv.required("ID")
            let note = try inv.value("note").map { v throws(NHIError) in try Validation.text(v, field: "--note", limit: Validation.Limit.note) }
            let audit = try inv.auditContext()
            try inv.write { db in try Registry.unfreeze(db, id: id, note: note, audit: audit) }
            inv.out.line("unfroze system \(id)")
            return .success
        },
        CommandSpec(["system", "revoke"], abstract: "Revoke every active token of a system (as system or issuer) in one transaction.",
                    discussion: "Prints the revoked tokens, for the automation that revokes them at the issuer. --dry-run prints them and writes nothing.",
                    arguments: [ArgumentSpec("ID", help: "The system's id.")],
                    options: [OptionSpec("reason", value: "TEXT", help: "Why they are revoked.", required: true),
                              OptionSpec("issued-before", value: "DATE", help: "Only tokens issued before this instant."),
                              OptionSpec("dry-run", help: "List what would be revoked; change nothing.")],
                    formats: listFormats,
                    examples: ["nhi system revoke mcp-gw --reason 'INC-981' --issued-before 2026-05-30T12:00:00Z --format json"]) { inv in
            let id = inv.required("ID")
            let reason = try Validation.text(inv.value("reason")!, field: "--reason", limit: Validation.Limit.reason)
            let before = try inv.date("issued-before")
            let dryRun = inv.flag("dry-run")
            let audit = try inv.auditContext()
            let body = { (db: Database) throws -> [Token] in
                try Registry.revokeSystem(db, id: id, reason: reason, issuedBefore: before, dryRun: dryRun, audit: audit)
            }
            let tokens = dryRun ? try inv.read(body) : try inv.write(body)
            let writer = RecordWriter(format: inv.format, columns: revokedColumns, sink: inv.out, colour: inv.colour)
            for t in tokens {
                writer.write(["token": .string(t.id), "owner": .string(t.ownerID), "system": .string(t.system),
                              "issuer": t.issuer.map(JSON.string) ?? .null, "agent": .string(t.agentID),
                              "fingerprint": t.fingerprint.map(JSON.string) ?? .null, "issued_at": JSON.instant(t.issuedAt),
                              "revoked_at": JSON.instant(t.revokedAt), "dry_run": .bool(dryRun)])
            }
            try writer.finish(emptyMessage: "no active token of system \(id)" + (before.map { " issued before \(Time.iso($0))" } ?? ""))
            return .success
        },
    ]

    package static let revokedColumns = [Column("token"), Column("owner"), Column("system"), Column("issuer"), Column("agent"),
                                         Column("issued_at", "ISSUED"), Column("revoked_at", "REVOKED")]

    // MARK: exception

    package static let exception: [CommandSpec] = [
        CommandSpec(["exception", "add"], abstract: "Waive one derived state of one token until a date.",
                    discussion: "Refused on a revoked token, for an unknown state, with --until in the past, or beyond the policy's max_exception (default 90d). While it holds, check does not fail on that state for that token and shows it as waived.",
                    arguments: [ArgumentSpec("TOKEN", help: "The token's identifier.")],
                    options: [OptionSpec("state", value: "STATE", help: "The derived state to waive (e.g. rotation-overdue).", required: true),
                              OptionSpec("until", value: "DATE", help: "When the exception lapses (date, ISO 8601 or +30d).", required: true),
                              OptionSpec("reason", value: "TEXT", help: "Why the risk is accepted.", required: true),
                              OptionSpec("approved-by", value: "OWNER", help: "The owner who approved it (default: the system's policy owner, if any).")],
                    examples: ["nhi exception add gh-ci --state rotation-overdue --until +14d --reason 'vendor rotates on 2026-06-10' --approved-by alice"]) { inv in
            let tokenID = try Validation.id(inv.required("TOKEN"), field: "token id")
            let stateName = inv.value("state")!
            guard DerivedState(rawValue: stateName) != nil else {
                throw NHIError.data("--state: unknown state '\(Redaction.printable(stateName))' (states: \(DerivedState.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let until = try Time.parseDate(inv.value("until")!, now: try inv.currentTime(), what: "--until")
            let reason = try Validation.text(inv.value("reason")!, field: "--reason", limit: Validation.Limit.reason)
            let approver = try inv.value("approved-by").map { v throws(NHIError) in try Validation.id(v, field: "--approved-by") }
            let audit = try inv.auditContext()
            let policy = try inv.policyGate()
            let id = try inv.write { db -> String in
                let token = try Registry.requireToken(db, tokenID)
                let limit = policy?.policy.resolve(\.maxException, system: token.system, environment: token.environment)?.value
                    ?? PolicyRules.defaultMaxException
                let approvedBy = try approver ?? Registry.system(db, token.system)?.policyOwner
                let id = try Registry.nextExceptionID(db)
                let exception = StateException(id: id, tokenID: tokenID, state: stateName, until: until, reason: reason,
                                               approvedBy: approvedBy, createdAt: audit.at, updatedAt: audit.at)
                try Registry.addException(db, exception, maxException: limit, audit: audit)
                return id
            }
            inv.out.line("added exception \(id): \(stateName) of token \(tokenID) waived until \(Time.iso(until))")
            return .success
        },
        CommandSpec(["exception", "list"], abstract: "List exceptions that hold (--all: also lapsed and revoked ones).",
                    options: [OptionSpec("token", value: "ID", help: "Only this token's exceptions."),
                              OptionSpec("all", help: "Also lapsed and revoked exceptions.")],
                    formats: listFormats, examples: ["nhi exception list --token gh-ci --all"]) { inv in
            let asOf = try inv.asOf()
            let all = inv.flag("all")
            let exceptions = try inv.read { db in try Registry.exceptions(db, token: inv.value("token"), activeOnly: !all) }
            let writer = RecordWriter(format: inv.format, columns: StateException.columns, sink: inv.out, colour: inv.colour)
            for e in exceptions where all || e.holds(at: asOf) {
                var record = e.record
                // A lapsed exception is still `active` in the store; the list says it no longer holds.
                if e.status == "active" && !e.holds(at: asOf) { record["status"] = e.until <= asOf ? "lapsed" : "pending" }
                writer.write(record)
            }
            try writer.finish(emptyMessage: all ? "no exceptions" : "no exception holds (--all lists lapsed and revoked ones)")
            return .success
        },
        CommandSpec(["exception", "revoke"], abstract: "End an exception before it lapses.",
                    arguments: [ArgumentSpec("EXCEPTION-ID", help: "The exception's id (EX-1).")],
                    options: [OptionSpec("note", value: "TEXT", help: "Why it ends.")],
                    examples: ["nhi exception revoke EX-1 --note 'rotated'"]) { inv in
            let id = inv.required("EXCEPTION-ID")
            let note = try inv.value("note").map { v throws(NHIError) in try Validation.text(v, field: "--note", limit: Validation.Limit.note) }
            let audit = try inv.auditContext()
            try inv.write { db in try Registry.revokeException(db, id: id, note: note, audit: audit) }
            inv.out.line("revoked exception \(id)")
            return .success
        },
    ]
}
