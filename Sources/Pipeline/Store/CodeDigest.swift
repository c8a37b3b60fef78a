import Foundation
import Kernels

/// Digests of the code a cached result depends on: the running executable, the C runtime that
/// codegen ships and the target profiles. They enter the cache keys, so a rebuilt or upgraded
/// tool never restores an artifact an older one made.
public enum CodeDigest {
    /// SHA-256 of the running executable (`/proc/self/exe`; under `swift test`, the test binary),
    /// read once per process. Where that file cannot be read, the version and kernel flavour.
    public static let executable: String = {
        for path in ["/proc/self/exe", CommandLine.arguments.first ?? ""] where !path.isEmpty {
            if let d = try? fileDigest(URL(fileURLWithPath: path).resolvingSymlinksInPath()) { return d }
        }
        return "unreadable-executable/\(ToolInfo.version)/\(KernelBuild.flavour)"
    }()

    /// SHA-256 over every file under `folder` (relative path and content, in sorted order), so
    /// adding, removing, renaming or editing a file changes it. "missing" when it does not exist.
    public static func folder(_ folder: URL) -> String {
        let fm = FileManager.default
        guard let e = fm.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else { return "missing" }
        var files: [(String, URL)] = []
        let base = folder.resolvingSymlinksInPath().path
        for case let u as URL in e where (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let p = u.resolvingSymlinksInPath().path
            files.append((p.hasPrefix(base + "/") ? String(p.dropFirst(base.count + 1)) : u.lastPathComponent, u))
        }
        if files.isEmpty { return "missing" }
        var listing = ""
        for (rel, u) in files.sorted(by: { $0.0 < $1.0 }) { listing += rel + " " + ((try? fileDigest(u)) ?? "unreadable") + "\n" }
        return SHA256.hex(Data(listing.utf8))
    }

    /// The digest of one file, or "missing".
    public static func file(_ url: URL) -> String { (try? fileDigest(url)) ?? "missing" }
}
