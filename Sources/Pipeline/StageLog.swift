import Foundation

/// The log of one stage for one model (`logs/NN-stage.log`): why it ran, its parameters,
/// progress, errors and duration, one timestamped line each.
public final class StageLog: @unchecked Sendable {
    public let stage: String
    private let lock = NSLock()
    private var lines: [String] = []
    private let started = Date()

    public init(stage: String) { self.stage = stage }

    public func line(_ text: String) {
        let t = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
        lock.withLock { lines.append("\(t) [\(stage)] \(text)") }
    }

    public var seconds: Double { Date().timeIntervalSince(started) }

    public var text: String { lock.withLock { lines.joined(separator: "\n") + "\n" } }
}
