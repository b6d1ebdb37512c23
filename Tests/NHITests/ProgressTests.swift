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
import Testing

/// A clock the test moves by hand.
final class FakeClock: @unchecked Sendable {
    var now = 100.0
    func read() -> Double { now }
}

@Suite struct ProgressTests {
    @Test func drawsCountRateAndElapsedThrottled() {
        let sink = OutputSink(capturing: ())
        let clock = FakeClock()
        let progress = Progress(label: "importing", unit: "records", sink: sink, enabled: true, clock: clock.read, interval: 0.25)
        progress.tick(10)          // 0s since start: too soon to draw
        #expect(sink.captured == "")
        clock.now = 100.5
        progress.tick(990)         // 1,000 in 0.5s
        #expect(sink.captured == "\r\u{1B}[Kimporting: 1,000 records (2,000/s, 0.5s)")
        clock.now = 100.6
        progress.tick(5)           // 0.1s after the last drawing: throttled
        #expect(sink.captured == "\r\u{1B}[Kimporting: 1,000 records (2,000/s, 0.5s)")
        clock.now = 102.0
        progress.finish()
        #expect(sink.captured.hasSuffix("\r\u{1B}[Kimporting: 1,005 records (503/s, 2.0s)\n"))
        progress.finish()          // a second finish draws nothing more
        #expect(sink.captured.filter { $0 == "\n" }.count == 1)
        #expect(progress.count == 1005)
    }

    @Test func printsNothingWhenNotATerminal() {
        let sink = OutputSink(capturing: ())
        let clock = FakeClock()
        let progress = Progress(label: "scanning", unit: "files", sink: sink, enabled: false, clock: clock.read)
        for _ in 0..<1000 { clock.now += 1; progress.tick() }
        progress.finish()
        #expect(sink.captured == "")
        #expect(progress.count == 1000)
    }

    @Test func formatsLongRunsAndLargeCounts() {
        #expect(Progress.grouped(0) == "0")
        #expect(Progress.grouped(999) == "999")
        #expect(Progress.grouped(1_234_567) == "1,234,567")
        #expect(Progress.seconds(0) == "0.0s")
        #expect(Progress.seconds(59.96) == "59.9s")
        #expect(Progress.seconds(61) == "1m01s")
        #expect(Progress.seconds(754) == "12m34s")
        let clock = FakeClock()
        let progress = Progress(label: "x", sink: OutputSink(capturing: ()), enabled: true, clock: clock.read)
        #expect(progress.line(now: 100) == "x: 0 items (0.0s)")
    }

    @Test func aCapturingSinkIsNotATerminal() {
        #expect(OutputSink(capturing: ()).isTerminal == false)
    }
}
