import Foundation
import Testing

private let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
    .first { FileManager.default.isExecutableFile(atPath: $0) }

/// The page as headless Chromium parsed and laid it out (its DOM after load).
private func renderedDOM(_ file: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium!)
    // --no-sandbox: the tests may run as root, where Chromium refuses its sandbox.
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--dump-dom", "file://" + file]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = readAll(out.fileHandleForReading)
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

/// Inner text of the element with `id` (first match, tags stripped), for asserting what the page shows.
private func text(ofID id: String, in html: String) -> String? {
    guard let start = html.range(of: "id=\"\(id)\"") else { return nil }
    guard let open = html[start.upperBound...].firstIndex(of: ">") else { return nil }
    var depth = 0, out = "", inTag = false
    var i = html.index(after: open)
    while i < html.endIndex {
        let ch = html[i]
        if ch == "<" {
            inTag = true
            let rest = html[i...]
            if rest.hasPrefix("</") { if depth == 0 { break }; depth -= 1 } else if !rest.hasPrefix("<br") { depth += 1 }
        } else if ch == ">" { inTag = false; if html[html.index(before: i)] == "/" { depth -= 1 } }
        else if !inTag { out.append(ch) }
        i = html.index(after: i)
    }
    return out.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
}

@Suite(.bothEngines) struct HTMLReportTests {
    /// alice holds t-exp (expired, overdue, stale); an owner whose name is a script holds t-never (no expiry).
    func seeded() throws -> Sandbox {
        let sandbox = Sandbox()
        try sandbox.ok(["owner", "add", "alice", "--name", "Alice Ng", "--email", "alice@example.com", "--team", "platform"])
        try sandbox.ok(["owner", "add", "mallory", "--name", "<script>alert(1)</script>", "--email", "m@example.com",
                        "--team", "\"><img src=x onerror=alert(2)>"])
        try sandbox.ok(["agent", "add", "bot", "--system", "github", "--owner", "alice"])
        try sandbox.ok(["agent", "add", "mbot", "--system", "slack", "--owner", "mallory"])
        // Both systems accountable, so the page's findings are the states above.
        try sandbox.ok(["system", "add", "github", "--policy-owner", "alice", "--platform-owner", "alice"])
        try sandbox.ok(["system", "add", "slack", "--policy-owner", "alice", "--platform-owner", "alice"])
        try sandbox.ok(["token", "register", "t-exp", "--owner", "alice", "--purpose", "ci", "--system", "github",
                        "--agent", "bot", "--expires", "2026-05-01", "--issued-at", "2025-01-01"])
        try sandbox.ok(["token", "register", "t-never", "--owner", "mallory", "--purpose", "<b>bold</b>", "--system", "slack",
                        "--agent", "mbot", "--expires", "never"])
        try sandbox.ok(["token", "register", "t-ok", "--owner", "alice", "--purpose", "ci", "--system", "github",
                        "--agent", "bot", "--expires", "2026-12-31", "--issued-at", "2026-05-15"])
        return sandbox
    }

    @Test func writesOneSelfContainedEscapedFile() throws {
        let sandbox = try seeded()
        let out = sandbox.path("report.html")
        let result = try sandbox.ok(["report", "html", "--out", out, "--as-of", "2026-06-01"])
        #expect(result.out == "wrote \(out): 5 findings on 2 of 3 active tokens, as of 2026-06-01T00:00:00Z\n")
        let page = try String(contentsOfFile: out, encoding: .utf8)
        // Nothing from the network and nothing executable.
        #expect(!page.lowercased().contains("<script"))
        #expect(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("@import") && !page.contains("url("))
        #expect(page.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>"))
        #expect(page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"))
        #expect(!page.contains("<img"))
        #expect(page.contains("@media print"))
        #expect(page.contains("<svg"))
    }

    @Test(.enabled(if: chromium != nil, "Chromium is not installed (apt-get install -y chromium): the page was not rendered in a browser"))
    func chromiumShowsTheInventoryAndTheScriptOwnerAsText() throws {
        let sandbox = try seeded()
        let out = sandbox.path("report.html")
        try sandbox.ok(["report", "html", "--out", out, "--as-of", "2026-06-01"])
        let dom = try renderedDOM(out)
        #expect(dom.contains("<h1>Non-human identity inventory report</h1>"), "Chromium produced no page: \(dom.prefix(200))")
        // The script-named owner is a text node, not an element: the DOM holds no script element at all.
        #expect(!dom.lowercased().contains("<script"))
        #expect(!dom.contains("<img"))
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(text(ofID: "as-of", in: dom) == "2026-06-01T00:00:00Z")
        #expect(text(ofID: "store", in: dom) == sandbox.dbShown)
        #expect(text(ofID: "count-active", in: dom) == "3active tokens")
        #expect(text(ofID: "count-flagged", in: dom) == "2tokens with findings")
        #expect(text(ofID: "count-expired", in: dom) == "1expired")
        #expect(text(ofID: "count-no-expiry", in: dom) == "1no-expiry")
        #expect(text(ofID: "count-orphaned", in: dom) == "0orphaned")
        let audit = try #require(text(ofID: "audit", in: dom))
        // seeded() writes 2 owners, 2 agents, 2 systems and 3 tokens: one audit entry each.
        #expect(audit.contains("verified audit verify: chain ok; 9 entries; head "))
        #expect(text(ofID: "audit-head", in: dom) == (try sandbox.ok(["audit", "head"])).out.trimmingCharacters(in: .whitespacesAndNewlines))
        // Findings, most urgent first: expired before no-expiry.
        let findings = try #require(text(ofID: "findings", in: dom))
        #expect(findings.contains("5 findings (most urgent first)."))
        let expired = try #require(findings.range(of: "t-expalicegithubbotexpiredexpired 2026-05-01"))
        let noExpiry = try #require(findings.range(of: "t-nevermallory"))
        #expect(expired.lowerBound < noExpiry.lowerBound)
        let owners = try #require(text(ofID: "owners", in: dom))
        #expect(owners.contains("mallory<script>alert(1)</script>\"><img src=x onerror=alert(2)>active"))
        let offboarding = try #require(text(ofID: "offboarding", in: dom))
        #expect(offboarding.contains("1 tokens to offboard."))
        #expect(offboarding.contains("t-expalicegithubbotexpired"))
        let controls = try #require(text(ofID: "controls", in: dom))
        #expect(controls.contains("OWASP NHINHI7:2025Long-Lived Secrets"))
        // Charts were drawn from the data: the expiry chart has 12 weekly bars, one of them 1 (t-ok expires later).
        let expiries = try #require(text(ofID: "chart-expiries", in: dom))
        #expect(expiries.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("Expiries per week, next 12 weeks"))
        #expect(dom.components(separatedBy: "<rect").count - 1 >= 12 + 12 + 2)
    }

    @Test func capsLongTablesAndStatesTheTotal() throws {
        let sandbox = try seeded()
        let out = sandbox.path("capped.html")
        try sandbox.ok(["report", "html", "--out", out, "--max-rows", "2", "--as-of", "2026-06-01"])
        let page = try String(contentsOfFile: out, encoding: .utf8)
        #expect(page.contains("Showing the first 2 of 5 findings (most urgent first)."))
        #expect(page.contains("nhi check --format json --as-of 2026-06-01T00:00:00Z"))
        #expect(page.components(separatedBy: "<span class=\"st s-").count - 1 == 2)
    }

    @Test func asOfChangesWhatThePageShows() throws {
        let sandbox = try seeded()
        let out = sandbox.path("early.html")
        // The tokens were recorded on 2026-06-01 (issued, backdated, in 2025): as of 2025-02-01 the inventory as
        // recorded then held none of them (SPEC: a record created later is absent).
        let result = try sandbox.ok(["report", "html", "--out", out, "--as-of", "2025-02-01"])
        #expect(result.out.contains(": 0 findings on 0 of 0 active tokens, as of 2025-02-01T00:00:00Z"))
        // As of a later instant the current records are evaluated then: more is due.
        let later = try sandbox.ok(["report", "html", "--out", out, "--as-of", "2027-06-01"])
        #expect(!later.out.contains(": 0 findings"))
    }

    /// Token ids of a section's table rows, in page order.
    func tokenColumn(_ section: String, _ page: String) -> [String] {
        guard let start = page.range(of: "<section id=\"\(section)\">"),
              let end = page[start.upperBound...].range(of: "</section>") else { return [] }
        return page[start.upperBound..<end.lowerBound].components(separatedBy: "<tr><td>").dropFirst()
            .map { String($0.prefix { $0 != "<" }) }
    }

    @Test func agreesWithTheOffboardingAndOwnersReports() throws {
        let sandbox = try seeded()
        try sandbox.ok(["owner", "depart", "mallory"])
        try sandbox.ok(["token", "register", "t-old", "--owner", "alice", "--purpose", "ci", "--system", "github",
                        "--agent", "bot", "--expires", "2026-03-01", "--issued-at", "2025-01-01"])
        let out = sandbox.path("report.html")
        try sandbox.ok(["report", "html", "--out", out, "--as-of", "2026-06-01"])
        let page = try String(contentsOfFile: out, encoding: .utf8)
        let offboarding = try jsonArray(try sandbox.ok(["report", "offboarding", "--format", "json", "--as-of", "2026-06-01"]).out)
        #expect(tokenColumn("offboarding", page) == ["t-old", "t-exp", "t-never"])
        #expect(tokenColumn("offboarding", page) == offboarding.map { $0["token"] as? String ?? "" })
        let owners = try jsonArray(try sandbox.ok(["report", "owners", "--format", "json", "--as-of", "2026-06-01"]).out)
            .filter { $0["owner"] as? String != "(total)" }
        #expect(tokenColumn("owners", page) == owners.map { $0["owner"] as? String ?? "" })
        #expect(page.contains("<tr><td>alice</td><td>Alice Ng</td><td>platform</td><td>active</td><td class=\"n\">3</td><td class=\"n hot\">2</td><td class=\"n\">0</td>"))
        #expect(page.contains("<span class=\"st s-orphaned\">departed</span>"))
    }

    /// The cells of each row of a section's table, tags stripped and entities decoded, in page order.
    func tableRows(_ section: String, _ page: String) -> [[String]] {
        guard let start = page.range(of: "<section id=\"\(section)\">"),
              let end = page[start.upperBound...].range(of: "</section>"),
              let body = page[start.upperBound..<end.lowerBound].range(of: "<tbody>") else { return [] }
        return page[body.upperBound..<end.lowerBound].components(separatedBy: "<tr>").dropFirst().map { row in
            row.components(separatedBy: "<td").dropFirst().map { cell in
                var text = "", inTag = false
                let content = cell.drop(while: { $0 != ">" }).dropFirst()
                for ch in content[..<(content.range(of: "</td>")?.lowerBound ?? content.endIndex)] {
                    if ch == "<" { inTag = true } else if ch == ">" { inTag = false } else if !inTag { text.append(ch) }
                }
                return text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                    .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
                    .replacingOccurrences(of: "&amp;", with: "&")
            }
        }
    }

    /// More tokens in one state than the seeded store, registered so that id order differs from the order of the
    /// dates they entered the state (t-a expired last, t-b first); bob departs, orphaning t-bob; aaron has no
    /// tokens. With the policy, no-expiry and policy violations fail (so they come first), and t-ok breaks only
    /// the policy.
    func seededForComposition() throws -> (Sandbox, policy: String) {
        let sandbox = try seeded()
        try sandbox.ok(["owner", "add", "bob", "--name", "Bob Ruiz", "--email", "bob@example.com"])
        // First by id, but with nothing that must go: the owners report lists aaron after alice and bob.
        try sandbox.ok(["owner", "add", "aaron", "--name", "Aaron Li", "--email", "aaron@example.com"])
        try sandbox.ok(["agent", "add", "bbot", "--system", "github", "--owner", "bob"])
        for (id, issued, expires) in [("t-a", "2025-06-01", "2026-05-20"), ("t-b", "2025-02-01", "2026-04-01")] {
            try sandbox.ok(["token", "register", id, "--owner", "alice", "--purpose", "ci", "--system", "github",
                            "--agent", "bot", "--expires", expires, "--issued-at", issued])
        }
        try sandbox.ok(["token", "register", "t-bob", "--owner", "bob", "--purpose", "ci", "--system", "github",
                        "--agent", "bbot", "--expires", "2026-11-01", "--issued-at", "2026-05-01"])
        try sandbox.ok(["owner", "depart", "bob"])
        let policy = sandbox.path("policy.json")
        try #"{"version": 1, "defaults": {"forbid_no_expiry": true, "max_ttl": "200d"}, "fail_on": ["no-expiry", "policy-violation"]}"#
            .write(toFile: policy, atomically: true, encoding: .utf8)
        return (sandbox, policy)
    }

    /// The page's findings, owners, offboarding and controls tables are the rows of `check --format json`,
    /// `report owners`, `report offboarding` and `report controls`, in their order, with and without a policy.
    @Test(arguments: [false, true])
    func tablesAreTheRowsOfCheckAndTheReports(withPolicy: Bool) throws {
        let (sandbox, policy) = try seededForComposition()
        let extra = ["--as-of", "2026-06-01"] + (withPolicy ? ["--policy", policy] : [])
        let out = sandbox.path("report.html")
        try sandbox.ok(["report", "html", "--out", out] + extra)
        let page = try String(contentsOfFile: out, encoding: .utf8)
        func day(_ value: Any?) -> String { (value as? String).map { String($0.prefix(10)) } ?? "-" }

        let check = try jsonObject(try sandbox.run(["check", "--format", "json"] + extra).out)
        let findings = try #require(check["findings"] as? [[String: Any]])
        #expect(findings.count > 8)
        #expect(tableRows("findings", page) == findings.map { f in
            [f["token"], f["owner"], f["system"], f["agent"], f["state"], f["reason"]].map { $0 as? String ?? "?" } + [day(f["since"])]
        })
        // The order that tells check's apart from the old page's (oldest in the state first): by id within a state.
        let expired = tableRows("findings", page).filter { $0[4] == "expired" }.map { $0[0] }
        #expect(expired == ["t-a", "t-b", "t-exp"])

        let owners = try jsonArray(try sandbox.ok(["report", "owners", "--format", "json"] + extra).out)
            .filter { $0["owner"] as? String != "(total)" }
        #expect(owners.map { $0["owner"] as? String ?? "" } == ["alice", "bob", "aaron", "mallory"])
        #expect(tableRows("owners", page).map { [$0[0], $0[1], $0[3], $0[4], $0[5], $0[6], $0[10], $0[11]] } == owners.map { o in
            [o["owner"] as? String ?? "?", o["name"] as? String ?? "-", o["status"] as? String ?? "?"]
                + ["active", "expired", "orphaned", "rotation_overdue", "review_overdue"].map { "\(o[$0] as? Int ?? -1)" }
        })

        let offboarding = try jsonArray(try sandbox.ok(["report", "offboarding", "--format", "json"] + extra).out)
        #expect(offboarding.count >= 4)
        #expect(tableRows("offboarding", page) == offboarding.map { r in
            [r["token"], r["owner"], r["system"], r["agent"]].map { $0 as? String ?? "?" }
                + [(r["status"] as? String ?? "?").replacingOccurrences(of: ",", with: ", "), r["reason"] as? String ?? "?",
                   r["waived"] as? String ?? "-", day(r["since"])]
        })

        let controls = try jsonArray(try sandbox.ok(["report", "controls", "--format", "json"] + extra).out)
        #expect(tableRows("controls", page).map { Array($0.dropFirst()) } == controls.map { c in
            [c["control"] as? String ?? "?", c["title"] as? String ?? "?",
             (c["evidenced_by"] as? [String] ?? []).joined(separator: ", "), "\(c["failing_tokens"] as? Int ?? -1)"]
        })
        // A token fails a control when one of its check findings lists the control.
        for c in controls {
            let key = "\(c["framework"] as? String ?? ""):\(c["control"] as? String ?? "")"
            let tokens = Set(findings.filter { f in
                (f["controls"] as? [[String: Any]] ?? []).contains { "\($0["framework"] as? String ?? ""):\($0["id"] as? String ?? "")" == key }
            }.map { $0["token"] as? String ?? "" })
            #expect(c["failing_tokens"] as? Int == tokens.count, "\(key)")
        }
        // Capped, the table is the start of the full list its note names.
        try sandbox.ok(["report", "html", "--out", out, "--max-rows", "3"] + extra)
        let capped = try String(contentsOfFile: out, encoding: .utf8)
        #expect(tableRows("findings", capped).map { $0[0] + " " + $0[4] } == findings.prefix(3).map { "\($0["token"] as? String ?? "") \($0["state"] as? String ?? "")" })
        // The headline counts are check's.
        #expect(page.contains("id=\"count-flagged\"><div class=\"n\">\(Set(findings.map { $0["token"] as? String ?? "" }).count)</div>"))
        #expect(page.contains("id=\"count-active\"><div class=\"n\">\(check["active_tokens"] as? Int ?? -1)</div>"))
    }

    @Test func aTamperedChainIsShownAsFailed() throws {
        let sandbox = try seeded()
        try sandbox.tamper("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
        let out = sandbox.path("report.html")
        try sandbox.ok(["report", "html", "--out", out])
        let page = try String(contentsOfFile: out, encoding: .utf8)
        #expect(page.contains("<span class=\"badge bad\">FAILED</span> audit verify: 1 problem; the first: entry 2:"))
        try sandbox.ok(["report", "html", "--out", out, "--no-verify"])
        let unverified = try String(contentsOfFile: out, encoding: .utf8)
        #expect(unverified.contains("<span class=\"badge warn\">not verified</span> not verified (--no-verify); run nhi audit verify; 9 entries"))
    }

    @Test func policyViolationsAreFindingsWithTheirControls() throws {
        let sandbox = try seeded()
        let policy = sandbox.path("policy.json")
        try #"{"version": 1, "defaults": {"forbid_no_expiry": true}}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        let out = sandbox.path("report.html")
        let result = try sandbox.ok(["report", "html", "--out", out, "--policy", policy, "--as-of", "2026-06-01"])
        #expect(result.out.contains(": 6 findings on 2 of 3 active tokens"))
        let page = try String(contentsOfFile: out, encoding: .utf8)
        #expect(page.contains("<td>t-never</td><td>mallory</td><td>slack</td><td>mbot</td><td><span class=\"st s-policy-violation\">policy-violation</span></td>"))
        #expect(page.contains("id=\"count-policy-violation\"><div class=\"n\">1</div>"))
        let controls = try jsonArray(try sandbox.ok(["report", "controls", "--format", "json", "--policy", policy, "--as-of", "2026-06-01"]).out)
        #expect(controls.first { $0["control"] as? String == "GOVERN" }?["failing_tokens"] as? Int == 1)
        #expect(controls.first { $0["control"] as? String == "PR.AA-05" }?["failing_tokens"] as? Int == 2)
    }

    @Test func badInvocationsWriteNothing() throws {
        let sandbox = try seeded()
        let before = try sandbox.contentHash()
        let missingOut = try sandbox.run(["report", "html"])
        #expect(missingOut.code == 2)
        #expect(missingOut.err.contains("--out FILE"))
        let badDir = try sandbox.run(["report", "html", "--out", sandbox.path("no/such/dir/r.html")])
        #expect(badDir.code == 3)
        #expect(badDir.err.contains("cannot write"))
        let badRows = try sandbox.run(["report", "html", "--out", sandbox.path("r.html"), "--max-rows", "0"])
        #expect(badRows.code == 3)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("r.html")))
        let noStore = try sandbox.run(["report", "html", "--out", sandbox.path("r.html"), "--db", sandbox.path("typo.db")])
        #expect(noStore.code == 3)
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("typo.db")))
        #expect(!FileManager.default.fileExists(atPath: sandbox.path("r.html")))
        #expect(try sandbox.contentHash() == before)
    }

    @Test func controlsReportCountsFailingTokens() throws {
        let sandbox = try seeded()
        let result = try sandbox.ok(["report", "controls", "--format", "json", "--as-of", "2026-06-01"])
        let rows = try jsonArray(result.out)
        func failing(_ id: String) -> Int? { rows.first { $0["control"] as? String == id }?["failing_tokens"] as? Int }
        #expect(failing("NHI7:2025") == 2)   // t-exp rotation-overdue, t-never no-expiry
        #expect(failing("NHI1:2025") == 1)   // t-exp expired and stale: one token
        #expect(failing("NHI9:2025") == 0)
        #expect(failing("GV.RR-04") == 0)
        let nhi7 = try #require(rows.first { $0["control"] as? String == "NHI7:2025" })
        #expect(nhi7["framework"] as? String == "owasp-nhi-2025")
        #expect(nhi7["title"] as? String == "Long-Lived Secrets")
        #expect((nhi7["evidenced_by"] as? [String])?.contains("no-expiry") == true)
    }
}
