import Testing
@testable import NHI

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
}
