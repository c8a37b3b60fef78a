import Dispatch
import Foundation

/// The result of running a program to completion.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` (no shell), waiting through a termination handler (not
/// `waitUntilExit`, which polls the run loop) and collecting output through temporary files,
/// so large outputs cannot dead-lock on a full pipe.
public func runProcess(_ executable: URL, _ arguments: [String], cwd: URL? = nil, timeout: Double = 300) throws -> ProcessResult {
    let dir = Fixtures.temporaryDirectory("proc")
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    let p = Process()
    p.executableURL = executable
    p.arguments = arguments
    if let cwd { p.currentDirectoryURL = cwd }
    p.standardOutput = try FileHandle(forWritingTo: out)
    p.standardError = try FileHandle(forWritingTo: err)
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.run()
    if done.wait(timeout: .now() + timeout) == .timedOut {
        p.terminate()
        done.wait()
    }
    return ProcessResult(status: p.terminationStatus,
                         stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// The `tinympq` binary built by `swift build` (the newest of debug and release).
public func tinympqBinary() throws -> URL {
    let build = Fixtures.packageRoot.appendingPathComponent(".build")
    let candidates = ["debug", "release"].map { build.appendingPathComponent($0).appendingPathComponent("tinympq") }
        .filter { FileManager.default.isExecutableFile(atPath: $0.path) }
    func mtime(_ u: URL) -> Date { (try? FileManager.default.attributesOfItem(atPath: u.path)[.modificationDate] as? Date) ?? .distantPast }
    guard let best = candidates.max(by: { mtime($0) < mtime($1) }) else {
        throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "tinympq is not built; run swift build first"])
    }
    return best
}
