import Foundation

/// What a watcher reports: a path that may have changed, or "look at everything again"
/// (startup, queue overflow, SIGHUP, a new directory).
public enum FileEvent: Sendable, Equatable {
    case changed(String)
    case rescan
}

/// A source of file events for one folder tree.
public protocol FileEventSource: Sendable {
    var backend: String { get }
    /// Starts delivering events (on a thread of the source's own); the first is `.rescan`.
    func start(_ deliver: @escaping @Sendable (FileEvent) -> Void) throws
    /// Stops within about a second.
    func stop()
}

/// A stat scan every `interval` seconds, for file systems without inotify events (NFS, some
/// container mounts).
public final class PollingSource: FileEventSource, @unchecked Sendable {
    public let backend = "polling"
    let interval: Double
    let timer: DispatchSourceTimer

    public init(interval: Double) {
        self.interval = interval
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "tinympq.poll"))
    }

    public func start(_ deliver: @escaping @Sendable (FileEvent) -> Void) throws {
        timer.schedule(deadline: .now(), repeating: interval)
        timer.setEventHandler { deliver(.rescan) }
        timer.resume()
    }

    public func stop() { timer.cancel() }
}
