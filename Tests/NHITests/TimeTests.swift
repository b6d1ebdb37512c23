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

@Suite struct TimeTests {
    let now: Instant = 1_780_272_000 // 2026-06-01T00:00:00Z

    @Test func dayOnlyIsMidnightUTC() throws {
        #expect(try Time.parseAbsolute("2027-01-31", what: "d") == 1_801_353_600)
        #expect(try Time.parseAbsolute("1970-01-01", what: "d") == 0)
        #expect(try Time.parseAbsolute("2026-06-01", what: "d") == now)
    }

    @Test func fullISO8601WithZoneAndOffsets() throws {
        #expect(try Time.parseAbsolute("2026-06-01T12:30:15Z", what: "d") == now + 45_015)
        #expect(try Time.parseAbsolute("2026-06-01T12:30Z", what: "d") == now + 45_000)
        #expect(try Time.parseAbsolute("2026-06-01T12:30:15.250Z", what: "d") == now + 45_015)
        // +02:00 is two hours ahead of UTC, so the same wall clock is two hours earlier in UTC.
        #expect(try Time.parseAbsolute("2026-06-01T02:00:00+02:00", what: "d") == now)
        #expect(try Time.parseAbsolute("2026-05-31T19:00:00-05:00", what: "d") == now)
        #expect(try Time.parseAbsolute("2026-06-01T05:30:00+0530", what: "d") == now)
        // No zone: taken as UTC.
        #expect(try Time.parseAbsolute("2026-06-01T00:00:00", what: "d") == now)
    }

    @Test func leapDays() throws {
        #expect(try Time.parseAbsolute("2024-02-29", what: "d") == 1_709_164_800)
        #expect(try Time.parseAbsolute("2000-02-29", what: "d") == 951_782_400)
        #expect(throws: NHIError.self) { try Time.parseAbsolute("2026-02-29", what: "d") }
        #expect(throws: NHIError.self) { try Time.parseAbsolute("1900-02-29", what: "d") }
        #expect(Time.iso(1_709_164_800) == "2024-02-29T00:00:00Z")
    }

    @Test(arguments: ["", "2026", "2026-6-1", "2026-13-01", "2026-00-10", "2026-04-31", "2026-06-00",
                      "2026-06-01T24:00", "2026-06-01T12:60", "2026-06-01T12:00:61", "2026-06-01T12", "2026/06/01",
                      "2026-06-01Z", "2026-06-01T12:00:00+25:00", "2026-06-01T12:00:00Q", "tomorrow",
                      "2026-06-01T12:00:00.Z", " 2026-06-01", "2026-06-01T12:00:00Z junk"])
    func invalidDatesAreDataErrors(_ text: String) {
        #expect(throws: NHIError.self) { try Time.parseAbsolute(text, what: "--expires") }
        do { _ = try Time.parseAbsolute(text, what: "--expires") } catch {
            #expect(error.kind == .data)
            #expect(error.message.hasPrefix("--expires: "))
        }
    }

    @Test func relativeDates() throws {
        #expect(try Time.parseDate("+30d", now: now, what: "d") == now + 30 * 86_400)
        #expect(try Time.parseDate("-7d", now: now, what: "d") == now - 7 * 86_400)
        #expect(try Time.parseDate("+12h", now: now, what: "d") == now + 43_200)
        #expect(try Time.parseDate("+2w", now: now, what: "d") == now + 1_209_600)
        #expect(throws: NHIError.self) { try Time.parseDate("+30", now: now, what: "d") }
        #expect(throws: NHIError.self) { try Time.parseDate("+", now: now, what: "d") }
        #expect(throws: NHIError.self) { try Time.parseDate("+0d", now: now, what: "d") }
    }

    @Test func isoFormatting() {
        #expect(Time.iso(0) == "1970-01-01T00:00:00Z")
        #expect(Time.iso(now) == "2026-06-01T00:00:00Z")
        #expect(Time.iso(now + 3_723) == "2026-06-01T01:02:03Z")
        #expect(Time.iso(-1) == "1969-12-31T23:59:59Z")
        #expect(Time.day(1_801_353_600 + 86_399) == "2027-01-31")
    }

    @Test func pinnedClock() throws {
        #expect(try Time.now(environment: ["NHI_NOW": "2026-06-01T00:00:00Z"]) == now)
        #expect(throws: NHIError.self) { try Time.now(environment: ["NHI_NOW": "soon"]) }
    }

    @Test func errorsNeverEchoASecret() {
        let secret = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
        do {
            _ = try Time.parseDate(secret, now: now, what: "--expires")
            Issue.record("accepted a secret as a date")
        } catch {
            #expect(!error.message.contains("aB3dE5"))
        }
    }

    @Test("Time.day is the date part of Time.iso, on both sides of midnight, the epoch and leap days")
    func dayMatchesIso() {
        var instants: [Instant] = [0, -1, 86_399, 86_400, -86_400, -86_401, 951_782_400, 4_107_542_399, -62_135_596_800]
        var t: Instant = -2_000_000_000
        while t < 4_000_000_000 { instants.append(t); t += 7_777_777 }
        for t in instants { #expect(Time.day(t) == String(Time.iso(t).prefix(10)), "\(t)") }
    }
}
