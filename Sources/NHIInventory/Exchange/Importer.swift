import NHIBasics
import NHIFormats
import NHIStore
import NHIModel
import NHIRules
import NHIAudit

/// The shape of exported and imported records: the keys of `Owner.record`, `Agent.record` and `Token.record`.
public enum ExchangeShape {
    /// In dependency order: systems name owners, tokens name systems (issuer), exceptions name tokens.
    public static let kinds = ["owner", "system", "agent", "token", "exception"]
    /// What `export` writes when the store has no systems and no exceptions (the shape it always had).
    public static let coreKinds = ["owner", "agent", "token"]

    /// Each record's fields: `kind`, then its table's declared columns (NHIModel's Columns.swift).
    public static let ownerKeys = ["kind"] + OwnerColumn.allCases.map(\.field)
    public static let agentKeys = ["kind"] + AgentColumn.allCases.map(\.field)
    public static let tokenKeys = ["kind"] + TokenColumn.allCases.map(\.field)
    public static let systemKeys = ["kind"] + SystemColumn.allCases.map(\.field)
    public static let exceptionKeys = ["kind"] + ExceptionColumn.allCases.map(\.field)

    public static func keys(of kind: String) -> [String] {
        switch kind {
        case "owner": return ownerKeys
        case "agent": return agentKeys
        case "system": return systemKeys
        case "exception": return exceptionKeys
        default: return tokenKeys
        }
    }

    package static let keySets = Dictionary(uniqueKeysWithValues: kinds.map { ($0, Set(keys(of: $0))) })
    package static func keySet(of kind: String) -> Set<String> { keySets[kind] ?? [] }

    /// One CSV header for several kinds: the union of their keys, `kind` first, in record order.
    public static func columns(for kinds: [String]) -> [String] {
        var result: [String] = []
        for kind in kinds { for key in keys(of: kind) where !result.contains(key) { result.append(key) } }
        return result
    }

    package static let allKeys = Set(columns(for: kinds))

    /// `owners` (as `--kind` spells it) or `owner` (as the `kind` field does) to the record kind.
    public static func kind(_ text: String) -> String? {
        switch text {
        case "owner", "owners": return "owner"
        case "agent", "agents": return "agent"
        case "token", "tokens": return "token"
        case "system", "systems": return "system"
        case "exception", "exceptions": return "exception"
        default: return nil
        }
    }
}

/// One bad input row: where it is and why it was refused.
public struct ImportProblem: Sendable, Equatable, CustomStringConvertible {
    public let line: Int
    /// "column 5 (owner)" for CSV, "field owner" for JSON, or nil when the whole row is at fault.
    public let location: String?
    public let message: String
    public var description: String {
        "line \(line)" + (location.map { ", \($0)" } ?? "") + ": " + message
    }
}

/// One input record, read from a CSV row or a JSON object. Values are JSON; a CSV cell is a string, and an empty
/// one is left out (absent and null mean the same: no value).
public struct ImportRecord {
    public let line: Int
    public var fields: [String: JSON]
    /// For CSV: column numbers (1-based) by name, so problems name the column; nil for JSON.
    public var csvColumns: [String: Int]?
    /// For JSON: the line each field's value starts on, when known.
    public var fieldLines: [String: Int] = [:]

    public init(line: Int, fields: [String: JSON], csvColumns: [String: Int]? = nil) {
        self.line = line
        self.fields = fields
        self.csvColumns = csvColumns
    }

    package func location(_ field: String) -> String {
        // The field name is the user's: an unknown key may itself be a pasted secret.
        let name = Redaction.printable(field)
        if let columns = csvColumns { return columns[field].map { "column \($0) (\(name))" } ?? "column \(name)" }
        return "field \(name)"
    }

    package func line(of field: String?) -> Int { field.flatMap { fieldLines[$0] } ?? line }
}

/// Imports records into the store inside the caller's one write transaction, through `Registry` (same checks,
/// one audit entry per record chained on one head). Bad records are collected, not thrown, so every one is
/// reported; the caller rolls everything back when any was found.
public final class Importer {
    public enum Conflict: String, Sendable { case fail, skip, update }

    public struct Counts: Sendable, Equatable {
        public var created = 0, updated = 0, unchanged = 0, skipped = 0
        public var byKind: [String: Int] = [:]
        public init() {}
    }

    package let db: Database
    package let audit: AuditContext
    package let conflict: Conflict
    package let policy: PolicyGate?
    package let defaultKind: String?
    package var head: AuditLog.Head
    /// Foreign keys are enforced, so a new record can be inserted first and checked by the store's constraints
    /// (`Registry.…IfNew`); a refused one then takes the usual checked path, which names the problem.
    package let insertFirst: Bool
    /// The first `problemLimit` problems (as `usage import` keeps them): three million bad records must not
    /// become three million messages held in memory and printed.
    public private(set) var problems: [ImportProblem] = []
    public static let problemLimit = 50
    /// Every problem, and every record with at least one, including those not kept in `problems`.
    public private(set) var problemCount = 0
    public private(set) var badRecordCount = 0
    private var lastProblemLine = Int.min
    public private(set) var counts = Counts()
    /// What each record did (dry run prints it): "create token gh-1".
    public var changeLog: ((String) -> Void)?

    public init(db: Database, audit: AuditContext, conflict: Conflict, policy: PolicyGate?, defaultKind: String?) throws {
        self.db = db
        self.audit = audit
        self.conflict = conflict
        self.policy = policy
        self.defaultKind = defaultKind
        self.head = try AuditLog.head(db)
        self.insertFirst = try Registry.enforcesForeignKeys(db)
        self.frozenSystems = try Registry.frozenSystemIDs(db)
    }

    /// Frozen systems, read once: their tokens take the checked path, which refuses an issuance by name.
    package var frozenSystems: Set<String>
    private var batch: Batch?
    /// A refused batch's records are going again one at a time.
    private var replaying = false

    /// Records a problem. The pending batch is written first: its records come earlier in the file, so their
    /// problems (found when the store refuses one) come first, as one record at a time would report them.
    public func report(_ problem: ImportProblem) throws {
        try flush()
        problemCount += 1
        // Problems arrive in record order, so a record's problems are adjacent.
        if problem.line != lastProblemLine { badRecordCount += 1; lastProblemLine = problem.line }
        if problems.count < Importer.problemLimit { problems.append(problem) }
    }

    /// Validates and writes one record; a bad record becomes problems and writes nothing.
    public func process(_ record: ImportRecord) throws {
        var reader = FieldReader(record: record)
        let kind: String
        let given = reader.string("kind")
        if let given {
            guard let k = ExchangeShape.kind(given), !given.hasSuffix("s") else {
                return try reader.fail("kind", "kind '\(Redaction.printable(given))' is not owner, system, agent, token or exception", into: self)
            }
            if let defaultKind, defaultKind != k {
                return try reader.fail("kind", "kind '\(k)' differs from --kind \(defaultKind)s", into: self)
            }
            kind = k
        } else if let defaultKind {
            kind = defaultKind
        } else {
            return try reader.fail(nil, "no kind: give a kind column (owner, system, agent, token or exception) or pass --kind", into: self)
        }
        let allowed = ExchangeShape.keySet(of: kind)
        let foreign = record.fields.keys.filter { !allowed.contains($0) }
        for key in foreign.sorted() {
            if record.csvColumns != nil {
                // A whole-inventory CSV has every kind's columns; only this kind's may hold a value.
                if record.fields[key] != .null { reader.problem(key, "column '\(key)' does not apply to \(kind) records") }
            } else {
                reader.problem(key, ExchangeShape.allKeys.contains(key) ? "field '\(key)' does not apply to \(kind) records" : "unknown field '\(Redaction.printable(key))'")
            }
        }
        if db.writesInBatches, !replaying, insertFirst, reader.problems.isEmpty {
            var probe = reader
            if let row = newRow(kind, &probe), probe.problems.isEmpty { return try queue(row, record) }
        }
        try flush()
        do {
            try db.undoingOnlyThis {
                switch kind {
                case "owner": try importOwner(&reader)
                case "agent": try importAgent(&reader)
                case "system": try importSystem(&reader)
                case "exception": try importException(&reader)
                default: try importToken(&reader)
                }
            }
        } catch let error as NHIError {
            reader.problem(error.field, error.message)
        } catch let error as DatabaseError where error.isConstraint {
            reader.problem(nil, error.asNHIError.message)
        }
        for (field, message) in reader.problems {
            try report(ImportProblem(line: record.line(of: field), location: field.map(record.location), message: message))
        }
    }

    // MARK: Kinds

    package func importOwner(_ r: inout FieldReader) throws {
        guard var owner = parseOwner(&r) else { return }
        let id = owner.id
        if insertFirst, try Registry.addOwnerIfNew(db, owner, audit: audit, head: &head) { return created("owner", id) }
        guard let before = try Registry.owner(db, id) else {
            try Registry.addOwner(db, owner, audit: audit, head: &head)
            return created("owner", id)
        }
        try existing("owner", id) {
            guard Self.mergedForUpdate(&owner, over: before, r, at: audit.at) else { return false }
            try Registry.save(db, owner, before: before, action: "owner.import", audit: audit, head: &head)
            return true
        }
    }

    /// The owner a record describes, or nil when it has problems (in `r`). Reads nothing from the store.
    package func parseOwner(_ r: inout FieldReader) -> Owner? {
        let now = audit.at
        let id = r.field(Fields.id, required: true)
        let name = r.field(Fields.name, required: true)
        let email = r.field(Fields.email, required: true)
        let team = r.field(Fields.team)
        let status = r.field(Fields.ownerStatus) ?? "active"
        let departedAt = r.field(Fields.departedAt, now: now)
        let createdAt = r.field(Fields.createdAt, now: now) ?? now
        let updatedAt = r.field(Fields.updatedAt, now: now) ?? now
        guard r.problems.isEmpty, let id, let name, let email else { return nil }
        return Owner(id: id, name: name, email: email, team: team, status: status, departedAt: departedAt,
                     createdAt: createdAt, updatedAt: updatedAt)
    }

    package func importAgent(_ r: inout FieldReader) throws {
        guard var agent = parseAgent(&r) else { return }
        let id = agent.id
        if insertFirst, try Registry.addRecordedAgentIfNew(db, agent, audit: audit, head: &head) { return created("agent", id) }
        guard let before = try Registry.agent(db, id) else {
            try Registry.addAgent(db, agent, audit: audit, head: &head, asRecorded: true)
            return created("agent", id)
        }
        try existing("agent", id) {
            // A file from before agents had a mode keeps the stored one.
            if !r.given("mode") { agent.mode = before.mode }
            guard Self.mergedForUpdate(&agent, over: before, r, at: audit.at) else { return false }
            try Registry.save(db, agent, before: before, action: "agent.import", audit: audit, head: &head)
            return true
        }
    }

    /// The agent a record describes, or nil when it has problems (in `r`). Reads nothing from the store.
    package func parseAgent(_ r: inout FieldReader) -> Agent? {
        let now = audit.at
        let id = r.field(Fields.id, required: true)
        let system = r.field(Fields.system, required: true)
        let ownerID = r.field(Fields.owner, required: true)
        let status = r.field(Fields.agentStatus) ?? "active"
        let mode = r.field(Fields.agentMode) ?? Agent.defaultMode
        let decommissionedAt = r.field(Fields.decommissionedAt, now: now)
        let createdAt = r.field(Fields.createdAt, now: now) ?? now
        let updatedAt = r.field(Fields.updatedAt, now: now) ?? now
        guard r.problems.isEmpty, let id, let system, let ownerID else { return nil }
        return Agent(id: id, system: system, ownerID: ownerID, status: status, decommissionedAt: decommissionedAt,
                     createdAt: createdAt, updatedAt: updatedAt, mode: mode)
    }

    /// A system as exported; an existing one is updated only with --on-conflict update (a freeze comes along).
    package func importSystem(_ r: inout FieldReader) throws {
        let id = r.field(Fields.id, required: true)
        let kind = r.field(Field.choice(column: "system_kind", GovernedSystem.kinds)) ?? "service"
        let role = r.field(Field.choice(column: "gateway_role", GovernedSystem.gatewayRoles))
        let policy = r.field(Field.id(column: "policy_owner"), required: true)
        let platform = r.field(Field.id(column: "platform_owner"), required: true)
        let auditOwner = r.field(Field.id(column: "audit_owner"))
        let incident = r.field(Field.id(column: "incident_owner"))
        let managedBy = r.field(Field.text(column: "managed_by", limit: Validation.Limit.name))
        let boundary = r.field(Field.text(column: "boundary", limit: Validation.Limit.note))
        let frozenAt = r.field(Field.date(column: "frozen_at"), now: audit.at)
        let frozenBy = r.field(Field.text(column: "frozen_by", limit: Validation.Limit.actor))
        let frozenReason = r.field(Field.text(column: "frozen_reason", limit: Validation.Limit.reason))
        let createdAt = r.field(Fields.createdAt, now: audit.at) ?? audit.at
        let updatedAt = r.field(Fields.updatedAt, now: audit.at) ?? audit.at
        guard r.problems.isEmpty, let id, let policy, let platform else { return }
        var system = GovernedSystem(id: id, kind: kind, gatewayRole: role, policyOwner: policy, platformOwner: platform,
                                    auditOwner: auditOwner, incidentOwner: incident, managedBy: managedBy, boundary: boundary,
                                    frozenAt: frozenAt, frozenBy: frozenBy, frozenReason: frozenReason,
                                    createdAt: createdAt, updatedAt: updatedAt)
        // A freeze imported earlier in the same file holds for the tokens after it, on the fast path too.
        if system.frozen { frozenSystems.insert(id) } else { frozenSystems.remove(id) }
        guard let before = try Registry.system(db, id) else {
            try Registry.addSystem(db, system, audit: audit, head: &head, asRecorded: true)
            return created("system", id)
        }
        try existing("system", id) {
            guard Self.mergedForUpdate(&system, over: before, r, at: audit.at) else { return false }
            try Registry.save(db, system, before: before, action: "system.import", audit: audit, head: &head)
            return true
        }
    }

    /// An exception as exported: recorded as it was (a lapsed or revoked one too), so its bounds are not re-checked.
    package func importException(_ r: inout FieldReader) throws {
        let id = r.field(Fields.id, required: true)
        let token = r.field(Field.id(column: "token"), required: true)
        let state = r.field(Field.choice(column: "state", DerivedState.allCases.map(\.rawValue)), required: true)
        let until = r.field(Field.date(column: "until"), required: true, now: audit.at)
        let reason = r.field(Field.text(column: "reason", limit: Validation.Limit.reason), required: true)
        let approvedBy = r.field(Field.id(column: "approved_by"))
        let status = r.field(Field.choice(column: "status", ["active", "revoked"])) ?? "active"
        let revokedAt = r.field(Fields.revokedAt, now: audit.at)
        let note = r.field(Field.text(column: "revoke_note", limit: Validation.Limit.note))
        let createdAt = r.field(Fields.createdAt, now: audit.at) ?? audit.at
        let updatedAt = r.field(Fields.updatedAt, now: audit.at) ?? audit.at
        guard r.problems.isEmpty, let id, let token, let state, let until, let reason else { return }
        let exception = StateException(id: id, tokenID: token, state: state, until: until, reason: reason, approvedBy: approvedBy,
                                       status: status, revokedAt: revokedAt, revokeNote: note, createdAt: createdAt, updatedAt: updatedAt)
        guard let before = try Registry.exception(db, id) else {
            try Registry.addException(db, exception, maxException: nil, audit: audit, head: &head)
            return created("exception", id)
        }
        try existing("exception", id) {
            guard exception != before else { return false }
            try Registry.saveException(db, exception, before: before, action: "exception.import", audit: audit, head: &head)
            return true
        }
    }

    package func importToken(_ r: inout FieldReader) throws {
        guard var token = parseToken(&r) else { return }
        let (id, now) = (token.id, audit.at)
        if insertFirst, try Registry.registerRecordedIfNew(db, token, audit: audit, head: &head, frozen: frozenSystems) { return created("token", id) }
        guard let before = try Registry.token(db, id) else {
            try Registry.register(db, token, audit: audit, head: &head, asRecorded: true)
            return created("token", id)
        }
        try existing("token", id) {
            if !r.given("last_used_at") { token.lastUsedAt = before.lastUsedAt }
            guard Self.mergedForUpdate(&token, over: before, r, at: now) else { return false }
            try Registry.save(db, token, before: before, action: "token.import", audit: audit, head: &head, asRecorded: true)
            return true
        }
    }

    /// The token a record describes, checked for consistency and against the policy; nil when it has problems
    /// (in `r`). Reads nothing from the store.
    package func parseToken(_ r: inout FieldReader) -> Token? {
        let now = audit.at
        let id = r.field(Fields.id, required: true)
        let ownerID = r.field(Fields.owner, required: true)
        let purpose = r.field(Fields.purpose, required: true)
        let system = r.field(Fields.system, required: true)
        let agentID = r.field(Fields.agent, required: true)
        let environment = r.field(Fields.environment)
        let scopes = r.scopes()
        let issuedAt = r.field(Fields.issuedAt, now: now) ?? now
        // nil: absent or refused; .some(nil): `never`.
        let expiry = r.field(Fields.expires, now: now)
        if expiry == nil, r.problems.allSatisfy({ $0.0 != Fields.expires.column }) {
            r.problem(Fields.expires.column, "expires_at is required: a date, or 'never' written out")
        }
        let rotateEvery = r.field(Fields.rotateEvery) ?? Token.defaultRotateEvery
        let lastRotatedAt = r.field(Fields.lastRotatedAt, now: now)
        let reviewEvery = r.field(Fields.reviewEvery) ?? Token.defaultReviewEvery
        let lastReviewedAt = r.field(Fields.lastReviewedAt, now: now)
        let fingerprint = r.field(Fields.fingerprint)
        let labels = r.labels()
        let status = r.field(Fields.tokenStatus) ?? "active"
        let revokedAt = r.field(Fields.revokedAt, now: now)
        let revokeReason = r.field(Fields.revokeReason)
        let lastUsedAt = r.field(Fields.lastUsedAt, now: now)
        let createdAt = r.field(Fields.createdAt, now: now) ?? now
        let updatedAt = r.field(Fields.updatedAt, now: now) ?? now
        let issuer = r.field(Fields.issuer)
        guard r.problems.isEmpty, let expiresAt = expiry, let id, let ownerID, let purpose, let system, let agentID else { return nil }
        let token = Token(id: id, ownerID: ownerID, purpose: purpose, system: system, agentID: agentID,
                          environment: environment, scopes: scopes, issuedAt: issuedAt, expiresAt: expiresAt,
                          rotateEvery: rotateEvery, lastRotatedAt: lastRotatedAt, reviewEvery: reviewEvery,
                          lastReviewedAt: lastReviewedAt, fingerprint: fingerprint, labels: labels, status: status,
                          revokedAt: revokedAt, revokeReason: revokeReason, lastUsedAt: lastUsedAt,
                          createdAt: createdAt, updatedAt: updatedAt, issuer: issuer)
        if let (field, message) = Validation.consistency(of: token, now: now) {
            r.problem(field, message)
            return nil
        }
        if let policy {
            let broken = policy.policy.violations(of: token)
            for v in broken {
                r.problem(Policy.column(ofRule: v.rule), "breaks policy rule \(v.rule): \(v.message)")
            }
            if !broken.isEmpty { return nil }
        }
        return token
    }

    // MARK: Batches (a server)

    /// New records gathered for one write, all of one kind (`Database.writesInBatches`).
    struct Batch {
        let kind: String
        let row: Registry.NewRow.Shape
        /// The audit head before the batch: where its records start again when they go one at a time.
        let startHead: AuditLog.Head
        var values: [SQLValue] = []
        var entries: [AuditLog.Entry] = []
        var records: [ImportRecord] = []
        var ids: [String] = []
    }

    /// Records a batch holds at most: its rows and audit entries are two COPYs under a savepoint, a few round trips
    /// for this many records instead of several each.
    static let batchRecords = 2000

    /// The record as a new row the store's constraints will judge (the insert-first path), or nil when it takes
    /// the checked path (a system, an exception, a token of a frozen system, a problem).
    func newRow(_ kind: String, _ r: inout FieldReader) -> Registry.NewRow? {
        switch kind {
        case "owner": return parseOwner(&r).map(Registry.newRow)
        case "agent": return parseAgent(&r).map(Registry.newRow)
        case "token":
            guard let token = parseToken(&r), Registry.mayInsertFirst(token, frozen: frozenSystems) else { return nil }
            return Registry.newRow(token)
        default: return nil
        }
    }

    /// Adds a new record to the batch, its audit entry chained on the head as if it were written now. A record of
    /// another kind writes the batch first, so that a row refers only to rows already written (tokens to owners
    /// and agents earlier in the file), as one at a time.
    func queue(_ row: Registry.NewRow, _ record: ImportRecord) throws {
        if let pending = batch, pending.kind != row.shape.entityKind || pending.records.count >= Importer.batchRecords {
            try flush()
        }
        if batch == nil { batch = Batch(kind: row.shape.entityKind, row: row.shape, startHead: head) }
        batch!.values.append(contentsOf: row.values)
        batch!.entries.append(AuditLog.chained(audit, action: row.shape.action, entityKind: row.shape.entityKind,
                                               entityID: row.id, beforeText: nil, afterText: row.snapshot, head: &head))
        batch!.records.append(record)
        batch!.ids.append(row.id)
    }

    /// Writes the pending batch: its rows, then its audit entries, under a savepoint. When the store refuses a row
    /// (an id already there, an unknown owner, a reused fingerprint), the savepoint is rolled back and the batch's
    /// records go again one at a time from its first audit head: each is decided, and its problem named, exactly
    /// as without batches.
    func flush() throws {
        guard let pending = batch else { return }
        batch = nil
        do {
            try db.undoingOnlyThis {
                try db.insertRows(into: pending.row.table, columns: pending.row.columns, values: pending.values)
                try AuditLog.insert(db, entries: pending.entries)
            }
            for id in pending.ids { created(pending.kind, id) }
            return
        } catch let error as DatabaseError where error.isConstraint {}
        head = pending.startHead
        replaying = true
        defer { replaying = false }
        for record in pending.records { try process(record) }
    }

    /// Writes what is still gathered: call after the last record, before reading `counts` or `problems`.
    public func finish() throws { try flush() }

    // MARK: Outcomes

    package func created(_ kind: String, _ id: String) {
        counts.created += 1
        counts.byKind[kind, default: 0] += 1
        changeLog?("create \(kind) \(id)")
    }

    /// A record whose id is already in the store: refused, skipped or applied, by `--on-conflict`.
    package func existing(_ kind: String, _ id: String, update: () throws -> Bool) throws {
        switch conflict {
        case .fail:
            throw NHIError.data("\(kind) '\(id)' already exists (pass --on-conflict skip or --on-conflict update)").on("id")
        case .skip:
            counts.skipped += 1
            changeLog?("skip \(kind) \(id) (exists)")
        case .update:
            if try update() {
                counts.updated += 1
                counts.byKind[kind, default: 0] += 1
                changeLog?("update \(kind) \(id)")
            } else {
                counts.unchanged += 1
                changeLog?("unchanged \(kind) \(id)")
            }
        }
    }
}

/// Reads typed values out of one record, collecting a problem per bad field instead of stopping at the first.
/// A record an import may update: its own timestamps, compared whole.
package protocol ImportedRecord: Equatable {
    var createdAt: Instant { get set }
    var updatedAt: Instant { get set }
}
extension Owner: ImportedRecord {}
extension Agent: ImportedRecord {}
extension Token: ImportedRecord {}
extension GovernedSystem: ImportedRecord {}

extension Importer {
    /// The one update rule of an import (owners, agents, systems, tokens): timestamps the file does not give keep the
    /// stored ones; an unchanged record writes nothing (false); a changed one without `updated_at` is stamped `at`.
    package static func mergedForUpdate<R: ImportedRecord>(_ record: inout R, over before: R, _ r: FieldReader,
                                                          at: Instant) -> Bool {
        if !r.given("created_at") { record.createdAt = before.createdAt }
        if !r.given("updated_at") { record.updatedAt = before.updatedAt }
        guard record != before else { return false }
        if !r.given("updated_at") { record.updatedAt = at }
        return true
    }
}

package struct FieldReader {
    package let record: ImportRecord
    package var problems: [(String?, String)] = []

    package init(record: ImportRecord) { self.record = record }

    /// True when the record holds a value for `key` (a CSV empty cell or a JSON null is no value).
    package func given(_ key: String) -> Bool { record.fields[key].map { $0 != .null } ?? false }

    package mutating func problem(_ field: String?, _ message: String) { problems.append((field, message)) }

    package func fail(_ field: String?, _ message: String, into importer: Importer) throws {
        try importer.report(ImportProblem(line: record.line(of: field), location: field.map(record.location), message: message))
    }

    /// A string value; nil when absent, null or (CSV) empty. A non-string JSON value is a problem.
    package mutating func string(_ key: String) -> String? {
        guard let value = record.fields[key] else { return nil }
        switch value {
        case .null: return nil
        case .string(let s): return s
        default:
            problem(key, "\(key) must be a string, not \(Redaction.printable(value.serialized()))")
            return nil
        }
    }

    /// `field`'s column, checked by the field's one rule (messages name the column); nil when absent or refused.
    package mutating func field<T>(_ field: Field<T>, required: Bool = false, now: Instant = 0) -> T? {
        let key = field.column
        guard let text = string(key) else {
            if required && !problems.contains(where: { $0.0 == key }) { problem(key, "\(key) is required") }
            return nil
        }
        do { return try field.check(text, label: key, now: { () throws(NHIError) in now }) } catch {
            problem(key, error.message)
            return nil
        }
    }

    /// Scopes: a JSON array of strings, or (CSV) one comma-joined cell; checked by `Validation.scopes`.
    package mutating func scopes() -> [String] {
        guard let value = record.fields["scopes"], value != .null else { return [] }
        var text: String
        switch value {
        case .string(let s): text = s
        case .array(let items):
            var parts: [String] = []
            for item in items {
                guard let s = item.stringValue, !s.contains(",") else {
                    problem("scopes", "scopes must be strings without commas, not \(Redaction.printable(item.serialized()))")
                    return []
                }
                parts.append(s)
            }
            text = parts.joined(separator: ",")
        default:
            problem("scopes", "scopes must be an array of strings")
            return []
        }
        do { return try Fields.scopes.check(text, label: "scopes") } catch {
            problem("scopes", error.message)
            return []
        }
    }

    /// Labels: a JSON object of strings, or (CSV) its JSON text; each pair checked by `Validation.label`.
    package mutating func labels() -> [String: String] {
        guard var value = record.fields["labels"], value != .null else { return [:] }
        if case .string(let text) = value {
            if text == "{}" { return [:] } // as CSV exports write no labels
            do { value = try JSONParser.parse(text) } catch {
                problem("labels", "labels must be a JSON object such as {\"ticket\":\"SEC-42\"}: \(error.description)")
                return [:]
            }
        }
        guard let object = value.objectValue else {
            problem("labels", "labels must be a JSON object of strings")
            return [:]
        }
        do { try Validation.labelCount(object.count) } catch {
            problem("labels", error.message)
            return [:]
        }
        var labels: [String: String] = [:]
        for (key, item) in object {
            guard let text = item.stringValue, !key.contains("=") else {
                problem("labels", "label '\(Redaction.printable(key))' must be a string value and its key must not contain '='")
                continue
            }
            guard !text.isEmpty else { problem("labels", "label '\(Redaction.printable(key))' has an empty value"); continue }
            do {
                let (k, v) = try Validation.label(key + "=" + text)
                labels[k] = v
            } catch {
                problem("labels", error.message)
            }
        }
        return labels
    }

}
