import CInotifyTools
import Foundation
import Synchronization

/// libinotifytools on one dedicated thread: every library call happens there (the library is
/// not thread-safe and keeps one instance per process). Recursive watches; events for regular
/// files written and closed, moved in, or created (hard links publish with CREATE only); new
/// directories are watched and rescanned; a queue overflow asks for a rescan.
///
/// `inotifytools_next_events(1, 1)`: a 1 s select, one event at a time (asking for more busy-
/// spins inside the library), so `stop()` takes effect within a second.
public final class InotifySource: FileEventSource, Sendable {
    public let backend = "inotifytools"
    let root: String
    let stopFlag = Atomic<Bool>(false)
    let started = Atomic<Bool>(false)

    public init(root: URL) {
        var p = root.standardizedFileURL.path
        if !p.hasSuffix("/") { p += "/" }
        self.root = p
    }

    public func start(_ deliver: @escaping @Sendable (FileEvent) -> Void) throws {
        let ready = DispatchSemaphore(value: 0)
        let failure = Mutex<String?>(nil)
        let root = self.root
        let thread = Thread { [self] in
            guard inotifytools_initialize() != 0 else {
                failure.withLock { $0 = "inotifytools_initialize failed (errno \(inotifytools_error()))" }
                ready.signal()
                return
            }
            guard inotifytools_watch_recursively(root, cit_watch_mask()) != 0 else {
                let e = inotifytools_error()
                failure.withLock { $0 = "cannot watch \(root): \(String(cString: strerror(e)))" + (e == ENOSPC ? " (inotify watch limit reached; try --poll)" : "") }
                inotifytools_cleanup()
                ready.signal()
                return
            }
            started.store(true, ordering: .sequentiallyConsistent)
            ready.signal()
            // Watches exist first, then the scan: nothing falls into the gap.
            deliver(.rescan)
            while !stopFlag.load(ordering: .sequentiallyConsistent) {
                guard let ev = inotifytools_next_events(1, 1) else { continue }
                let mask = ev.pointee.mask
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    deliver(.rescan)
                    continue
                }
                guard let dirC = inotifytools_filename_from_wd(ev.pointee.wd) else { continue }
                let dir = String(cString: dirC)
                let name = String(cString: cit_event_name(ev))
                let path = dir + name
                if mask & UInt32(IN_ISDIR) != 0 {
                    if mask & (UInt32(IN_CREATE) | UInt32(IN_MOVED_TO)) != 0 {
                        _ = inotifytools_watch_recursively(path, cit_watch_mask())
                        deliver(.rescan)
                    }
                    continue
                }
                if mask & (UInt32(IN_CLOSE_WRITE) | UInt32(IN_MODIFY) | UInt32(IN_MOVED_TO) | UInt32(IN_CREATE)) != 0 {
                    deliver(.changed(path))
                }
                if mask & (UInt32(IN_DELETE_SELF) | UInt32(IN_MOVE_SELF)) != 0 && path.hasPrefix(root) == false {
                    deliver(.rescan)
                }
            }
            inotifytools_cleanup()
        }
        thread.name = "inotify"
        thread.start()
        ready.wait()
        if let f = failure.withLock({ $0 }) { throw WatchError(message: f) }
    }

    public func stop() { stopFlag.store(true, ordering: .sequentiallyConsistent) }
}

public struct WatchError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
