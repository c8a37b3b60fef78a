import Foundation

/// The log of one stage for one model (`logs/NN-stage.log`): why it ran, its parameters,
/// progress, errors and duration, one timestamped line each.
public final class StageLog: @unchecked Sendable {
    public let stage: String
    private let lock = NSLock()
    private var lines: [String] = []
    private let started = Date()

    public init(stage: String) { self.stage = stage }

    /// Also receives every line as it is written (a daemon worker prints them, so the last lines
    /// survive a crash); set once at start-up.
    nonisolated(unsafe) public static var echo: (@Sendable (String) -> Void)? = nil

    public func line(_ text: String) {
        let t = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        let l = "\(t) [\(stage)] \(text)"
        lock.withLock { lines.append(l) }
        Self.echo?(l)
    }

    public var seconds: Double { Date().timeIntervalSince(started) }

    public var text: String { lock.withLock { lines.joined(separator: "\n") + "\n" } }
}
