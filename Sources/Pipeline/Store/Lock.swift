import Foundation

/// The one lock shared by the daemon and one-shot runs (an flock on `<cache>/lock`).
public final class PipelineLock: @unchecked Sendable {
    let fd: Int32

    /// Takes the lock; waits unless `wait` is false (then nil when another process holds it).
    /// `shared`: many holders at once (`run --shard`, whose jobs never overlap), none while an
    /// exclusive holder (the daemon, a whole run) has it.
    public init?(directory: URL, wait: Bool, shared: Bool = false) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("lock").path
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PublishError(path: path, errno: errno) }
        if flock(fd, (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB)) != 0 {
            close(fd)
            return nil
        }
        let info = "\(getpid()) \(CommandLine.arguments.joined(separator: " "))\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
