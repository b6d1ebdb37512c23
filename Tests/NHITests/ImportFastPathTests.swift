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

/// The import path's fast paths (lazy errors, one-pass secret detection, byte-level whitespace checks) must
/// answer exactly as the general code did, messages included.
@Suite struct ImportFastPathTests {
    let now: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    func message(_ body: () throws(NHIError) -> Any) -> String? {
        do { _ = try body(); return nil } catch { return error.message }
    }

    @Test func badDatesKeepTheirMessages() {
        #expect(message { () throws(NHIError) in try Time.parseDate("not-a-date", now: now, what: "expires_at") }
            == "expires_at: 'not-a-date' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)")
        #expect(message { () throws(NHIError) in try Time.parseDate("+3x", now: now, what: "--expires") }
            == "--expires: '+3x' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)")
        #expect(message { () throws(NHIError) in try Time.parseAbsolute("2026-13-01", what: "issued_at") }
            == "issued_at: '2026-13-01' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)")
        // The echo is still secret-checked and cleaned of control characters.
        #expect(message { () throws(NHIError) in try Time.parseAbsolute("ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x", what: "d") }
            == "d: '<redacted>' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)")
        #expect(message { () throws(NHIError) in try Time.parseAbsolute("2026-01-0\u{1}", what: "d") }
            == "d: '2026-01-0?' is not a date (use 2027-01-31, 2027-01-31T12:00:00Z or +30d)")
    }

    @Test func goodDatesStillParse() throws {
        #expect(try Time.parseDate("+30d", now: now, what: "d") == now + 30 * 86_400)
        #expect(try Time.parseDate("-2w", now: now, what: "d") == now - 14 * 86_400)
        #expect(try Time.parseDate("2026-06-01T00:00:00Z", now: 0, what: "d") == now)
        for bad in ["", "+", "+d", "+0d", "+12345678d", "2026-06-01T", "2026-06-01Z", "2026-06-01T00:00:00Zx", "+3\u{301}0d"] {
            #expect(throws: NHIError.self, "\(bad)") { try Time.parseDate(bad, now: now, what: "d") }
        }
    }

    @Test func badDurationsKeepTheirMessages() throws {
        #expect(message { () throws(NHIError) in try Duration.parse("3x") } == "'3x' is not a duration (use 30d, 12h, 2w or 90m)")
        #expect(message { () throws(NHIError) in try Duration.parse("0d") } == "'0d' is not a duration (use 30d, 12h, 2w or 90m)")
        for bad in ["", "d", "12345678d", "-3d", "3.5d", "3d\u{301}", "٣d", "30 d"] {
            #expect(throws: NHIError.self, "\(bad)") { try Duration.parse(bad) }
        }
        #expect(try Duration.parse("1234567m") == 1_234_567 * 60)
        #expect(try Duration.parse("2w") == 1_209_600)
        #expect(try Duration.parse("12h") == 43_200)
    }

    @Test func prefixFindingsFollowListOrder() {
        // Both a Slack and a GitHub token: the GitHub rule comes first in `knownPrefixes`, wherever it sits.
        let both = "xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrSt ghp_R2d2C3poLuke7Leia8Han9Solo0Chewie1x"
        #expect(SecretDetector.inspect(both) == .knownPrefix("GitHub token"))
        #expect(SecretDetector.inspect("key=sk-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9") == .knownPrefix("OpenAI-style secret key"))
        #expect(SecretDetector.inspect("task_sk-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9") == .highEntropy)
        #expect(SecretDetector.inspect("sk-learn-batch-runner-prod") == nil)
        #expect(SecretDetector.inspect("-----BEGIN") == .knownPrefix("private key block"))
        #expect(SecretDetector.inspect("tok-0000000-github") == nil)
        #expect(SecretDetector.inspect("123e4567-e89b-12d3-a456-426614174000") == nil)
        #expect(SecretDetector.inspect("x Zq81LmNp27XyWv03KsTr45UbQc69DeFgHi12") == .highEntropy)
        #expect(SecretDetector.inspect("") == nil)
        #expect(SecretDetector.inspect("ghp_") == nil)
    }

    @Test func whitespaceChecksAgreeWithCharacters() {
        let samples = ["", " ", "a", " a ", "\t\n", "\r\n", "\u{1C}", "\u{85}", "\u{A0}", "a\u{A0}b", "\u{2003}",
                       "\u{600}a", " \u{301}", "é", "e\u{301}", "名前", "x y", "scope:read", "\u{B}", "\u{C}"]
        for s in samples {
            #expect(Validation.hasNonWhitespace(s) == s.contains { !$0.isWhitespace }, "\(s.unicodeScalars.map(\.value))")
            #expect(Validation.hasWhitespace(s) == s.contains { $0.isWhitespace }, "\(s.unicodeScalars.map(\.value))")
        }
    }

    static let awkward = ["plain", "quote \" and \\ backslash", "tab\tnew\nline\r", "\u{1}\u{1F}", "line\u{2028}sep\u{2029}",
                          "é名前🙂", "</script>&amp;", "\u{E2}\u{80}", ""]

    @Test func snapshotTextIsTheSortedSerialisation() {
        for (n, text) in Self.awkward.enumerated() {
            let t = Int64(n) * 86_399 * 37
            let owner = Owner(id: "o\(n)", name: text, email: "a@b.c", team: n % 2 == 0 ? nil : text,
                              status: n % 3 == 0 ? "departed" : "active", departedAt: n % 3 == 0 ? now : nil,
                              createdAt: t, updatedAt: -t - 1)
            #expect(owner.snapshotText == owner.snapshot.serialized(sortedKeys: true))
            let agent = Agent(id: "a\(n)", system: text, ownerID: "o\(n)", status: "active",
                              decommissionedAt: n % 2 == 0 ? nil : 253_402_300_800 + t, createdAt: t, updatedAt: now)
            #expect(agent.snapshotText == agent.snapshot.serialized(sortedKeys: true))
            var labels: [String: String] = [:]
            for k in 0..<(n % 4) { labels["k\(k)-\(n)"] = text + "\(k)" }
            if n == 5 { labels = ["Zed": "1", "alpha": "2", "a.b": "3", "a_b": "4", "a-b": "5", "a/b": text] }
            let token = Token(id: "t\(n)", ownerID: "o\(n)", purpose: text.isEmpty ? "p" : text, system: "s",
                              agentID: "a\(n)", environment: n % 2 == 0 ? nil : text,
                              scopes: Array(["b", "a", text].prefix(n % 4)), issuedAt: t,
                              expiresAt: n % 3 == 0 ? nil : t + 86_400, rotateEvery: Int64(n + 1) * 3600,
                              lastRotatedAt: n % 2 == 0 ? nil : t, reviewEvery: 90 * 86_400 + Int64(n),
                              lastReviewedAt: n % 2 == 1 ? nil : t,
                              fingerprint: n % 2 == 0 ? nil : "sha256:" + String(repeating: "ab", count: 32),
                              labels: labels, status: n % 4 == 0 ? "revoked" : "active", revokedAt: n % 4 == 0 ? t : nil,
                              revokeReason: n % 4 == 0 ? text : nil, lastUsedAt: t, createdAt: t, updatedAt: now)
            #expect(token.snapshotText == token.snapshot.serialized(sortedKeys: true))
        }
    }

    @Test func canonicalEntryIsUnchanged() {
        for (n, text) in Self.awkward.enumerated() {
            let entry = AuditLog.Entry(seq: Int64(n) * 1_000_003, at: now - Int64(n), actor: text, command: "import " + text,
                                       action: "token.register", entityKind: "token", entityID: "t\(n)",
                                       before: n % 2 == 0 ? nil : "{\"id\":\"" + text + "\"}",
                                       after: n % 3 == 0 ? nil : "{\"a\":[1,2],\"b\":\"" + text + "\"}",
                                       prevHash: AuditLog.genesisHash)
            // The form Docs/audit.md documents, as the entry used to write it.
            func quoted(_ text: String) -> String { JSON.string(text).serialized() }
            let expected = "{\"action\":\(quoted(entry.action)),\"actor\":\(quoted(entry.actor)),\"after\":\(entry.after.map(quoted) ?? "null"),"
                + "\"at\":\(entry.at),\"before\":\(entry.before.map(quoted) ?? "null"),\"command\":\(quoted(entry.command)),"
                + "\"entity_id\":\(quoted(entry.entityID)),\"entity_kind\":\(quoted(entry.entityKind)),"
                + "\"prev_hash\":\(quoted(entry.prevHash)),\"seq\":\(entry.seq)}"
            #expect(entry.canonical == expected)
            #expect(entry.hash == SHA256.hex(expected))
        }
    }
}
