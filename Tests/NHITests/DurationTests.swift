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

@Suite struct DurationTests {
    @Test func parsesEveryUnit() throws {
        #expect(try Duration.parse("30d") == 2_592_000)
        #expect(try Duration.parse("12h") == 43_200)
        #expect(try Duration.parse("2w") == 1_209_600)
        #expect(try Duration.parse("90m") == 5_400)
        #expect(try Duration.parse("1m") == 60)
        #expect(try Duration.parse("0090d") == 7_776_000)
    }

    @Test(arguments: ["", "d", "30", "30s", "30D", "-30d", "+30d", "0d", "1.5d", "30 d", " 30d", "3d2h", "12345678d", "٣d", "30dd"])
    func rejects(_ text: String) {
        #expect(throws: NHIError.self) { try Duration.parse(text) }
    }

    @Test func formatUsesTheLargestExactUnit() {
        #expect(Duration.format(7_776_000) == "90d")
        #expect(Duration.format(1_209_600) == "14d")
        #expect(Duration.format(43_200) == "12h")
        #expect(Duration.format(5_400) == "90m")
        #expect(Duration.format(90_000) == "25h")
        #expect(Duration.format(61) == "61s")
    }
}
