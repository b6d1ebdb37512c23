import Testing
@testable import NHIBasics
@testable import NHIFormats
@testable import NHIStore
@testable import NHIModel
@testable import NHIRules
@testable import NHIAudit
@testable import NHIInventory
@testable import NHIReports
@testable import NHIScan
@testable import NHIOutput
@testable import NHICLI

/// The compact paths of `check` and the token reports (token states in a byte arena, records written as bytes)
/// write exactly what the value-model paths write (`JSONObject` records through `RecordWriter`, `JSON.serialized`,
/// `CSVWriter`, `XML.escape`); the strings inside them are escaped by one escaper per format (EscapingTests).
@Suite("Compact output paths")
struct OutputBytesTests {
    static let day: Int64 = 86_400
    static let asOf: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    // Strings through each format's escaper: EscapingTests.
    @Test("JSON integers and instants are written as JSON.serialized writes them")
    func jsonScalars() {
        for i: Int64 in [0, 1, 9, 10, -1, -10, 1_780_272_000, .max, .min] {
            var out = OutputBytes()
            out.int(i)
            #expect(String(decoding: out.bytes, as: UTF8.self) == String(i))
        }
        for t: Instant in [0, -1, 1_780_272_000, 1_780_272_000 + 3_723, -62_135_596_800, 253_402_300_799, 253_402_300_800,
                           -62_135_596_801, 86_399] {
            var out = OutputBytes()
            out.jsonInstant(t)
            #expect(String(decoding: out.bytes, as: UTF8.self) == JSON.instant(t).serialized(), "\(t)")
        }
        var out = OutputBytes()
        out.jsonInstant(nil)
        #expect(String(decoding: out.bytes, as: UTF8.self) == "null")
    }

    /// Tokens in every state but foreign-use, with and without the optional dates, and a departed owner and a
    /// decommissioned agent.
    func store(withExceptions: Bool = false) throws -> Store {
        let store = try Store.inMemory()
        let db = store.db
        let day = Self.day, asOf = Self.asOf
        let t0 = asOf - 400 * day
        try Registry.insert(db, Owner(id: "alice", name: "Alice", email: "a@example.com", team: nil, createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Owner(id: "dave", name: "Dave", email: "d@example.com", team: nil, status: "departed",
                                      departedAt: asOf - 3 * day, createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "bot", system: "github", ownerID: "alice", createdAt: t0, updatedAt: t0))
        try Registry.insert(db, Agent(id: "old", system: "github", ownerID: "alice", status: "decommissioned",
                                      decommissionedAt: asOf - 2 * day, createdAt: t0, updatedAt: t0))
        var n = 0
        for owner in ["alice", "dave"] {
            for agent in ["bot", "old"] {
                for expires: Instant? in [nil, asOf - 5 * day - 3_600, asOf + 3 * day, asOf + 100 * day] {
                    for rotated: Instant? in [nil, asOf - 10 * day, asOf - 200 * day] {
                        n += 1
                        let used: Instant? = n % 3 == 0 ? nil : asOf - Instant(n * 7) * day
                        try Registry.insert(db, Token(
                            id: "tok-\(String(n + 100).dropFirst())", ownerID: owner, purpose: "p", system: n % 2 == 0 ? "github" : "aws",
                            agentID: agent, environment: n % 4 == 0 ? nil : "prod", scopes: [], issuedAt: t0 + Instant(n) * day,
                            expiresAt: expires, rotateEvery: 90 * day, lastRotatedAt: rotated, reviewEvery: (n % 2 == 0 ? 30 : 365) * day,
                            lastReviewedAt: n % 5 == 0 ? asOf - 20 * day : nil, fingerprint: nil, labels: [:],
                            lastUsedAt: used, createdAt: t0, updatedAt: t0))
                    }
                }
            }
        }
        // With exceptions: on every third token, for some of the states the reports show (rows with a `waived` field).
        var e = 0
        for k in stride(from: 1, through: n, by: 3) where withExceptions {
            for state in ["rotation-overdue", "review-overdue", "expired", "orphaned"] where (k + state.count) % 2 == 0 {
                e += 1
                let exception = StateException(id: "EX-\(e)", tokenID: "tok-\(String(k + 100).dropFirst())", state: state,
                                               until: asOf + 10 * day, reason: "r", approvedBy: "alice", createdAt: t0, updatedAt: t0)
                try db.execute(Registry.insertExceptionSQL, .named(Dictionary(uniqueKeysWithValues: ExceptionColumn.allCases.map {
                    ($0.name, exception.storedValue($0)) })))
            }
        }
        return store
    }

    @Test("token states read back from the arena equal the ones appended")
    func arenaRoundTrip() throws {
        var query = StateQuery(asOf: Self.asOf)
        query.fullTokens = false
        let all = try query.all(try store().db)
        #expect(all.count > 30)
        var arena = TokenStatesArena()
        let handles = all.map { arena.append($0) }
        #expect(arena.handles == handles)
        #expect(handles == handles.sorted())
        for (ts, h) in zip(all, handles) {
            let back = arena[h]
            #expect(back.token == ts.token)
            #expect(back.states == ts.states)
            #expect(back.ownerStatus == ts.ownerStatus && back.ownerDepartedAt == ts.ownerDepartedAt)
            #expect(back.agentStatus == ts.agentStatus && back.agentDecommissionedAt == ts.agentDecommissionedAt)
            #expect(back.foreignAgent == ts.foreignAgent && back.foreignUseAt == ts.foreignUseAt)
            #expect(arena.tokenID(h) == ts.token.id)
        }
        // Unusual values survive too: negative and large numbers, statuses outside the common words.
        let odd = TokenStates(
            token: Token(id: "x", ownerID: "o", purpose: "", system: "", agentID: "a", environment: "", scopes: [],
                         issuedAt: -5, expiresAt: .max, rotateEvery: 0, lastRotatedAt: .min, reviewEvery: 1, lastReviewedAt: nil,
                         fingerprint: nil, labels: [:], status: "weird", lastUsedAt: nil, createdAt: 0, updatedAt: 0),
            ownerStatus: "on-leave", ownerDepartedAt: nil, agentStatus: "active", agentDecommissionedAt: -1,
            foreignAgent: "other", foreignUseAt: 3, states: [.foreignUse, .stale])
        let h = arena.append(odd)
        let back = arena[h]
        #expect(back.token == odd.token && back.states == odd.states && back.ownerStatus == "on-leave")
        #expect(back.agentStatus == "active" && back.agentDecommissionedAt == -1 && back.foreignAgent == "other" && back.foreignUseAt == 3)
        // Shared texts (owner ids, systems, environments kept once) and instants kept in days or seconds: a long
        // owner id met twice, an empty one, day-aligned negatives, and values at the edge of the tagged form.
        for (i, owner) in ["an-owner-id-longer-than-fifteen", "", "an-owner-id-longer-than-fifteen", "o"].enumerated() {
            let day: Int64 = 86_400
            let ts = TokenStates(
                token: Token(id: "y\(i)", ownerID: owner, purpose: "", system: i % 2 == 0 ? "a-system-named-at-length" : "",
                             agentID: "", environment: i == 3 ? nil : "prod", scopes: [], issuedAt: -3 * day,
                             expiresAt: (1 << 62) - 1, rotateEvery: 90 * day, lastRotatedAt: 1 << 62, reviewEvery: -(1 << 62),
                             lastReviewedAt: Int64.min + 1, fingerprint: nil, labels: [:], status: "active", lastUsedAt: 0,
                             createdAt: 0, updatedAt: 0),
                ownerStatus: nil, ownerDepartedAt: -day, agentStatus: nil, agentDecommissionedAt: nil,
                foreignAgent: nil, foreignUseAt: nil, states: [.expired])
            let handle = arena.append(ts)
            let back = arena[handle]
            #expect(back.token == ts.token && back.ownerDepartedAt == -day)
        }
    }

    @Test("findings come by kind in urgency order, then token id, and equal the token states' reasons")
    func findingsOrder() throws {
        let db = try store().db
        let result = try Check.run(db, asOf: Self.asOf, failOn: ["expired", "orphaned"], maxUnused: 90 * Self.day, policy: nil)
        var query = StateQuery(asOf: Self.asOf, maxUnused: 90 * Self.day)
        query.fullTokens = false
        let all = try query.all(db)
        var expected: [Check.Finding] = []
        for failing in [true, false] {
            for state in DerivedState.allCases where ["expired", "orphaned"].contains(state.rawValue) == failing {
                for ts in all where ts.states.contains(state) {
                    expected.append(Check.Finding(tokenID: ts.token.id, ownerID: ts.token.ownerID, agentID: ts.token.agentID,
                                                  system: ts.token.system, kind: state.rawValue, severity: failing ? .failure : .warning,
                                                  reason: ts.reason(state, maxUnused: 90 * Self.day),
                                                  since: ts.since(state, maxUnused: 90 * Self.day), rule: nil))
                }
            }
        }
        #expect(result.findings == expected)
        #expect(result.failureCount == result.failures.count && result.warningCount == result.warnings.count)
        #expect(result.failureCount > 0 && result.warningCount > 0)
        // JSON findings written as bytes equal the JSONObject records serialised.
        let sink = OutputSink(capturing: ())
        CheckOutput.json(result, sink: sink)
        let lines = sink.captured.split(separator: "\n").dropFirst().dropLast()
        #expect(lines.count == expected.count)
        for (line, f) in zip(lines, expected) {
            let record = JSON.object(CheckOutput.findingRecord(f)).serialized()
            #expect(line.hasSuffix(record) || line.hasSuffix(record + ","))
        }
    }

    /// JUnit as it was written from the findings list and every active token (before the streaming writer).
    func junitFromLists(_ result: Check.Result, tokens: [Check.TokenRef]) -> String {
        var byToken: [String: [Check.Finding]] = [:]
        for f in result.findings { byToken[f.tokenID, default: []].append(f) }
        let e = XML.escape
        let failed = tokens.filter { byToken[$0.id]?.contains { $0.severity == .failure } == true }.count
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"nhi check\" tests=\"\(tokens.count)\" failures=\"\(failed)\" errors=\"0\" time=\"1.234\">\n"
        out += "  <testsuite name=\"nhi check\" tests=\"\(tokens.count)\" failures=\"\(failed)\" errors=\"0\" skipped=\"0\" time=\"1.234\" timestamp=\"\(String(Time.iso(result.asOf).dropLast()))\">\n"
        out += "    <properties>\n      <property name=\"as_of\" value=\"\(Time.iso(result.asOf))\"/>\n"
        out += "      <property name=\"fail_on\" value=\"\(e(result.failOn.joined(separator: ",")))\"/>\n    </properties>\n"
        for token in tokens {
            let findings = byToken[token.id] ?? []
            let open = "    <testcase classname=\"\(e("nhi." + (token.system.isEmpty ? "token" : token.system)))\" name=\"\(e(token.id))\" time=\"0.000\""
            if findings.isEmpty { out += open + "/>\n"; continue }
            out += open + ">\n"
            let failures = findings.filter { $0.severity == .failure }
            if !failures.isEmpty {
                var details = failures.map { "\($0.kind): \($0.reason)\n  fix: \(Check.remedy($0.kind))" }
                details.append("owner: \(token.ownerID), agent: \(token.agentID)")
                out += "      <failure type=\"\(e(failures.map(\.kind).joined(separator: ",")))\" message=\"\(e(failures.map { "\($0.kind): \($0.reason)" }.joined(separator: "; ")))\">\(e(details.joined(separator: "\n")))</failure>\n"
            }
            let warnings = findings.filter { $0.severity == .warning }
            if !warnings.isEmpty {
                out += "      <system-out>\(e(warnings.map { "warning \($0.kind): \($0.reason)" }.joined(separator: "\n")))</system-out>\n"
            }
            out += "    </testcase>\n"
        }
        return out + "  </testsuite>\n</testsuites>\n"
    }

    @Test("JUnit streamed alongside the token states equals JUnit written from the lists")
    func junitStreamed() throws {
        let db = try store().db
        let tokens = try db.rows("SELECT id, owner_id, agent_id, system FROM tokens WHERE status = 'active' ORDER BY id").map {
            Check.TokenRef(id: try $0.string("id"), ownerID: try $0.string("owner_id"), agentID: try $0.string("agent_id"), system: try $0.string("system"))
        }
        for failOn in [["expired", "orphaned"], ["rotation-overdue", "stale", "no-expiry"], []] {
            let result = try Check.run(db, asOf: Self.asOf, failOn: failOn, maxUnused: 90 * Self.day, policy: nil)
            let sink = OutputSink(capturing: ())
            try JUnitOutput.write(result, elapsedMilliseconds: 1234, activeTokens: { try Check.forEachActiveToken(db, $0) }, sink: sink)
            #expect(sink.captured == junitFromLists(result, tokens: tokens), "\(failOn)")
        }
    }

    /// The rows through the value-model writer, as the reports were written before.
    func recordWriterOutput(_ rows: Reports.RowList, format: String, dateKey: String, colour: Bool) throws -> String {
        let sink = OutputSink(capturing: ())
        let writer = RecordWriter(format: format, columns: Reports.Row.columns(dateKey: dateKey, dateHeader: "WHEN"),
                                  sink: sink, colour: colour)
        for row in rows { writer.write(row.record(dateKey: dateKey, asOf: Self.asOf)) }
        try writer.finish(emptyMessage: "nothing")
        return sink.captured
    }

    @Test("each token report in each format equals the record path")
    func reportsEqualRecordPath() throws {
        let db = try store(withExceptions: true).db
        let reports: [(Reports.RowList, String)] = [
            (try Reports.rotationDue(db, asOf: Self.asOf, within: 14 * Self.day), "due_at"),
            (try Reports.reviewDue(db, asOf: Self.asOf, within: 14 * Self.day), "due_at"),
            (try Reports.expiring(db, asOf: Self.asOf, within: 30 * Self.day), "expires_at"),
            (try Reports.offboarding(db, asOf: Self.asOf), "since"),
            (try Reports.offboarding(db, asOf: Self.asOf, owner: "nobody"), "since"),
        ]
        for (rows, dateKey) in reports {
            for format in ["table", "json", "csv", "ndjson"] {
                for colour in format == "table" ? [false, true] : [false] {
                    let sink = OutputSink(capturing: ())
                    ReportOutput.write(rows, format: format, dateKey: dateKey, dateHeader: "WHEN", asOf: Self.asOf, sink: sink,
                                       colour: colour, emptyMessage: "nothing")
                    #expect(try sink.captured == recordWriterOutput(rows, format: format, dateKey: dateKey, colour: colour),
                            "\(dateKey) \(format)")
                }
            }
        }
        #expect(reports[0].0.count > 5 && reports[3].0.count > 5 && reports[4].0.isEmpty)
        #expect(reports.allSatisfy { $0.0.isEmpty || $0.0.contains { $0.waived != nil } }, "every non-empty report has a waived row")
    }

    @Test("a table measured as the rows are found equals one measured in a pass over them")
    func tableMeasuredWhileFound() throws {
        let db = try store().db
        let columns = Reports.Row.columns(dateKey: "due_at", dateHeader: "WHEN")
        var widths = ReportOutput.TableWidths(columns: columns, dateKey: "due_at", asOf: Self.asOf)
        let rows = try Reports.rotationDue(db, asOf: Self.asOf, within: 14 * Self.day, observe: { widths.add($0) })
        var offWidths = ReportOutput.TableWidths(columns: Reports.Row.columns(dateKey: "since", dateHeader: "WHEN"), dateKey: "since", asOf: Self.asOf)
        let off = try Reports.offboarding(db, asOf: Self.asOf, observe: { offWidths.add($0) })
        for (rows, widths, key) in [(rows, widths, "due_at"), (off, offWidths, "since")] {
            let measured = OutputSink(capturing: ()), passed = OutputSink(capturing: ())
            ReportOutput.write(rows, format: "table", dateKey: key, dateHeader: "WHEN", asOf: Self.asOf, sink: measured,
                               colour: false, emptyMessage: nil, measured: widths)
            ReportOutput.write(rows, format: "table", dateKey: key, dateHeader: "WHEN", asOf: Self.asOf, sink: passed,
                               colour: false, emptyMessage: nil)
            #expect(measured.captured == passed.captured && !rows.isEmpty)
        }
    }

    @Test("a report's order does not depend on the order the tokens were streamed in")
    func orderIndependentOfStream() throws {
        var query = StateQuery(asOf: Self.asOf, states: [.rotationOverdue])
        query.lookahead = 14 * Self.day
        query.fullTokens = false
        let all = try query.all(try store().db)
        func rows(_ streamed: [TokenStates]) -> [String] {
            var arena = TokenStatesArena()
            let keys = streamed.map { ts in
                Reports.RowList.SortKey(rank: 0, hasDate: true, date: ts.rotationDueAt, handle: arena.append(ts))
            }
            return Reports.RowList(kind: .rotationDue, asOf: Self.asOf, maxUnused: query.maxUnused, states: arena, waivers: Waivers(), keys: keys).map(\.tokenID)
        }
        let expected = all.sorted { ($0.rotationDueAt, $0.token.id) < ($1.rotationDueAt, $1.token.id) }.map(\.token.id)
        #expect(rows(all) == expected)
        #expect(rows(all.reversed()) == expected)
        #expect(Set(all.map(\.rotationDueAt)).count < all.count) // ties exist, so the id tie-break is exercised
    }

    @Test("offboarding sorts expired first, then unknown dates, then the earliest date, then id")
    func offboardingOrder() throws {
        let rows = Array(try Reports.offboarding(try store().db, asOf: Self.asOf))
        func key(_ r: Reports.Row) -> (Int, Int, Instant, String) {
            (DerivedState(rawValue: r.status[0])!.severityRank, r.date == nil ? 0 : 1, r.date ?? 0, r.tokenID)
        }
        for (a, b) in zip(rows, rows.dropFirst()) { #expect(key(a) < key(b)) }
        #expect(rows.first?.status.first == "expired")
    }
}
