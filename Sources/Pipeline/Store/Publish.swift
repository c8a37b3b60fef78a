import CSupport
import Foundation

/// Writes an output folder so that readers see either the old complete folder or the new one,
/// never a mix: everything goes into a hidden staging folder beside the target, which is then
/// swapped in with one `renameat2(RENAME_EXCHANGE)` (or renamed, if there was no old folder).
public struct StagedFolder {
    public let target: URL
    public let staging: URL

    public init(target: URL) throws {
        self.target = target
        let parent = target.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
        staging = parent.appendingPathComponent(".\(target.lastPathComponent).staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
    }

    /// Writes a file inside the staging folder (`relative` may contain subfolders).
    public func write(_ relative: String, _ data: Data) throws {
        let url = staging.appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    public func write(_ relative: String, _ text: String) throws { try write(relative, Data(text.utf8)) }

    /// Swaps the staging folder in; the previous folder is removed afterwards.
    public func publish() throws {
        if cs_rename_noreplace(staging.path, target.path) == 0 { return }
        guard errno == EEXIST else { throw PublishError(path: target.path, errno: errno) }
        guard cs_rename_exchange(staging.path, target.path) == 0 else { throw PublishError(path: target.path, errno: errno) }
        // `staging` now holds the old folder.
        try? FileManager.default.removeItem(at: staging)
    }

    /// Removes the staging folder (after a failure or a cancelled stage).
    public func discard() { try? FileManager.default.removeItem(at: staging) }

    /// Removes staging folders in `folder` that a process which no longer runs left behind (a
    /// `kill -9` during publishing); those of running processes are left alone. Returns their names.
    @discardableResult
    public static func removeLeftovers(in folder: URL) -> [String] {
        var removed: [String] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where name.hasPrefix(".") {
            guard let r = name.range(of: ".staging-", options: .backwards),
                  let pid = Int32(name[r.upperBound...].split(separator: "-").first ?? ""), !processIsAlive(pid) else { continue }
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        return removed
    }
}

/// Whether a process with this id exists (it may belong to another user).
func processIsAlive(_ pid: Int32) -> Bool {
    pid > 0 && (kill(pid, 0) == 0 || errno == EPERM)
}

public struct PublishError: Error, CustomStringConvertible {
    public var path: String
    public var errno: Int32
    public var description: String { "cannot publish '\(path)': \(String(cString: strerror(errno)))" }
}
