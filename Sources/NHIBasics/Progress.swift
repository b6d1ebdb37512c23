#if canImport(Glibc)
import Glibc
#endif

/// Progress of long work (import, usage import, scan over many files) on stderr: count, rate, elapsed.
/// Shown only when stderr is a terminal, so CI logs stay clean; redrawn at most every `interval` seconds.
///
///     let progress = Progress(label: "importing", unit: "records", sink: err, enabled: err.isTerminal)
///     for record in records { ...; progress.tick() }
///     progress.finish()
public final class Progress {
    package let label: String
    package let unit: String
    package let sink: OutputSink
    public let enabled: Bool
    package let clock: () -> Double
    package let interval: Double
    package let start: Double
    private var lastDraw: Double
    private var finished = false
    public private(set) var count = 0

    /// `enabled` is normally `sink.isTerminal`; `clock` returns seconds (tests pass a fake one).
    public init(label: String, unit: String = "items", sink: OutputSink, enabled: Bool,
                clock: @escaping () -> Double = Progress.monotonicSeconds, interval: Double = 0.25) {
        self.label = label
        self.unit = unit
        self.sink = sink
        self.enabled = enabled
        self.clock = clock
        self.interval = interval
        self.start = enabled ? clock() : 0
        self.lastDraw = start
    }


    /// Counts `n` more done; redraws when the last drawing is older than the interval.
    public func tick(_ n: Int = 1) {
        count += n
        guard enabled, !finished else { return }
        let now = clock()
        if now - lastDraw >= interval {
            lastDraw = now
            draw(now: now, final: false)
        }
    }

    /// Draws the final line (count, rate, elapsed) and ends it; does nothing when disabled or already finished.
    public func finish() {
        guard enabled, !finished else { return }
        finished = true
        draw(now: clock(), final: true)
    }

    /// Erases the progress line so a message can be printed on stderr; the next tick draws it again.
    public func clear() {
        guard enabled, !finished else { return }
        sink.write("\r\u{1B}[K")
        sink.flush()
    }

    /// "importing: 12,345 records (8,230/s, 1.5s)".
    public func line(now: Double) -> String {
        let elapsed = max(now - start, 0)
        let rate = elapsed > 0 ? Int((Double(count) / elapsed).rounded()) : 0
        let rateText = elapsed > 0 ? "\(Progress.grouped(rate))/s, " : ""
        return "\(label): \(Progress.grouped(count)) \(unit) (\(rateText)\(Progress.seconds(elapsed)))"
    }

    private func draw(now: Double, final: Bool) {
        // Carriage return and erase-line redraw in place on a terminal.
        sink.write("\r\u{1B}[K" + line(now: now) + (final ? "\n" : ""))
        sink.flush()
    }

    package static func grouped(_ n: Int) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (n < 0 ? "-" : "") + out
    }

    package static func seconds(_ s: Double) -> String {
        if s < 60 { return "\(Double(Int(s * 10)) / 10)s" }
        let whole = Int(s)
        return "\(whole / 60)m\(whole % 60 < 10 ? "0" : "")\(whole % 60)s"
    }

    public static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
