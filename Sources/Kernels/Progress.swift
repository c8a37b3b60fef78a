import Dispatch

/// Progress of one long step (calibration, sensitivity, search, validation) as lines a person
/// can follow, with an estimate of the time left:
///
///     sensitivity: 12/32 images, 4.1 s, about 6.8 s left
///
/// The estimate is the mean time per unit so far times the units left. A line is reported for
/// the first unit, then at most every `interval` seconds, and for the last unit. Thread-safe:
/// workers may call `advance` concurrently.
public final class ProgressMeter: @unchecked Sendable {
    public let what: String
    public let unit: String
    public private(set) var total: Int
    private var done = 0
    private let started = DispatchTime.now().uptimeNanoseconds
    private var lastReport: UInt64 = 0
    private let interval: Double
    private let report: (String) -> Void
    private let lock = DispatchSemaphore(value: 1)

    /// `report` receives each line (a stage log's `line`, or nothing when nil).
    public init(_ what: String, total: Int, unit: String, interval: Double = 2, report: ((String) -> Void)?) {
        self.what = what
        self.total = max(total, 0)
        self.unit = unit
        self.interval = interval
        self.report = report ?? { _ in }
    }

    /// Seconds since the meter started.
    public var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds &- started) / 1e9 }

    /// Records `units` more done; reports a line when one is due.
    public func advance(by units: Int = 1) {
        lock.wait()
        done += units
        let now = DispatchTime.now().uptimeNanoseconds
        let due = done == units || done >= total || Double(now &- lastReport) / 1e9 >= interval
        let line = due ? format(now) : nil
        if due { lastReport = now }
        lock.signal()
        if let line { report(line) }
    }

    /// Changes the total (a step that learns it stops early).
    public func setTotal(_ n: Int) {
        lock.wait()
        total = max(n, 0)
        lock.signal()
    }

    private func format(_ now: UInt64) -> String {
        let elapsed = Double(now &- started) / 1e9
        var s = "\(what): \(done)/\(total) \(unit), \(Self.duration(elapsed))"
        if done > 0 && done < total {
            s += ", about \(Self.duration(elapsed / Double(done) * Double(total - done))) left"
        }
        return s
    }

    /// "0.4 s", "12 s", "3 min 5 s".
    public static func duration(_ s: Double) -> String {
        if s < 10 { return String(Double(Int(s * 10)) / 10) + " s" }
        if s < 120 { return "\(Int(s.rounded())) s" }
        let m = Int(s) / 60
        return "\(m) min \(Int(s) - 60 * m) s"
    }
}
