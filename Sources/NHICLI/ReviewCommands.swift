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

/// `review`, `owner depart`, `agent decommission` and `offboard ...`: attestations and offboarding, each one
/// transaction with every change audited (logic in Sources/NHI/Inventory/Offboarding.swift).
public enum ReviewCommands {
    public static var all: [CommandSpec] { [review, ownerDepart, agentDecommission, offboardAgent, offboardOwner] }

    package static let review = CommandSpec(
        ["review"], abstract: "Record a review of a token: keep it (moves the review clock) or revoke it.",
        discussion: "An attestation by the actor (--actor, $NHI_ACTOR or the login name), kept as history: every review is a new record, shown by 'nhi token show'.",
        arguments: [ArgumentSpec("TOKEN", help: "The token's identifier.")],
        options: [OptionSpec("decision", value: "DECISION", help: "keep (still needed) or revoke (no longer needed).", required: true,
                             choices: Reviews.Decision.allCases.map(\.rawValue)),
                  OptionSpec("note", value: "TEXT", help: "Why (kept with the review).")],
        examples: ["nhi review gh-support-bot --decision keep --note 'still triaging, scopes checked'",
                   "nhi review gh-old --decision revoke --note 'project ended'"]) { inv in
        let id = inv.required("TOKEN")
        guard let decision = Reviews.Decision(rawValue: inv.value("decision") ?? "") else {
            throw NHIError.usage("--decision must be keep or revoke")
        }
        let note = try inv.value("note").map { v throws(NHIError) in try Validation.text(v, field: "--note", limit: Validation.Limit.note) }
        let audit = try inv.auditContext()
        let token = try inv.write { db in try Reviews.record(db, tokenID: id, decision: decision, note: note, audit: audit) }
        inv.out.line(decision == .keep ? "reviewed token \(id): keep (next review due \(Time.day(audit.at + token.reviewEvery)))"
                                       : "reviewed token \(id): revoked")
        return .success
    }

    package static func runDecommission(_ inv: Invocation) throws -> ExitCode {
        let id = inv.required("ID")
        let audit = try inv.auditContext()
        let outcome = try inv.write { db in try Offboarding.decommissionAgent(db, id: id, audit: audit) }
        inv.out.line("decommissioned agent \(id); revoked \(outcome.revoked.count) active token\(outcome.revoked.count == 1 ? "" : "s")"
                     + (outcome.revoked.isEmpty ? "" : ": " + outcome.revoked.joined(separator: ", ")))
        return .success
    }

    package static func runDepart(_ inv: Invocation) throws -> ExitCode {
        let id = inv.required("ID")
        let transferTo = try inv.value("transfer-to").map { v throws(NHIError) in try Validation.id(v, field: "--transfer-to") }
        let audit = try inv.auditContext()
        let outcome = try inv.write { db in try Offboarding.departOwner(db, id: id, transferTo: transferTo, audit: audit) }
        if let transferTo {
            inv.out.line("owner \(id) departed; transferred \(outcome.transferredTokens.count) active token\(outcome.transferredTokens.count == 1 ? "" : "s") and \(outcome.transferredAgents.count) agent\(outcome.transferredAgents.count == 1 ? "" : "s") to \(transferTo)")
        } else if outcome.leftTokens + outcome.leftAgents > 0 {
            inv.out.line("owner \(id) departed; \(outcome.leftTokens) active token\(outcome.leftTokens == 1 ? "" : "s") and \(outcome.leftAgents) agent\(outcome.leftAgents == 1 ? "" : "s") are now orphaned (see: nhi report offboarding --owner \(id))")
        } else {
            inv.out.line("owner \(id) departed; they held no active tokens or agents")
        }
        return .success
    }

    package static let idArgument = [ArgumentSpec("ID", help: "The owner's id.")]
    package static let agentArgument = [ArgumentSpec("ID", help: "The agent's id.")]
    package static let transferOption = [OptionSpec("transfer-to", value: "ID2", help: "Give the owner's active tokens and agents to this active owner; without it they stay and show as orphaned.")]
    package static let departDiscussion = "Marks the owner departed (one transaction, every change audited). With --transfer-to their active tokens and agents move to ID2; without it they stay and show as orphaned in 'nhi report offboarding' and fail 'nhi check'."
    package static let decommissionDiscussion = "Marks the agent decommissioned and revokes every active token bound to it, in one transaction, every change audited."

    package static let ownerDepart = CommandSpec(
        ["owner", "depart"], abstract: "Mark an owner departed; transfer or orphan their tokens.", discussion: departDiscussion,
        arguments: idArgument, options: transferOption,
        examples: ["nhi owner depart dave --transfer-to alice"], run: runDepart)

    package static let offboardOwner = CommandSpec(
        ["offboard", "owner"], abstract: "Offboard an owner (same as 'owner depart').", discussion: departDiscussion,
        arguments: idArgument, options: transferOption,
        examples: ["nhi offboard owner dave --transfer-to alice", "nhi offboard owner dave"], run: runDepart)

    package static let agentDecommission = CommandSpec(
        ["agent", "decommission"], abstract: "Decommission an agent and revoke its active tokens.", discussion: decommissionDiscussion,
        arguments: agentArgument, examples: ["nhi agent decommission support-bot"], run: runDecommission)

    package static let offboardAgent = CommandSpec(
        ["offboard", "agent"], abstract: "Offboard an agent (same as 'agent decommission').", discussion: decommissionDiscussion,
        arguments: agentArgument, examples: ["nhi offboard agent support-bot"], run: runDecommission)
}
