import Synchronization

/// A process-wide stop request (SIGTERM/SIGINT). Long loops (search episodes, sensitivity and
/// calibration images) call `check()` so a stop takes effect within one step.
public enum Interrupt {
    static let flag = Atomic<Bool>(false)

    public static func request() { flag.store(true, ordering: .sequentiallyConsistent) }
    public static var requested: Bool { flag.load(ordering: .sequentiallyConsistent) }

    public static func check() throws {
        if requested { throw Interrupted() }
    }
}

public struct Interrupted: Error, CustomStringConvertible, Sendable {
    public init() {}
    public var description: String { "interrupted" }
}
