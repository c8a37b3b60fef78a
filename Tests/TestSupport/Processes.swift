import Codegen
import Foundation

/// The result of running a program to completion.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

/// Runs `executable` with `arguments` through the tool's own process runner
/// (`Toolchain.run`: no shell, a termination handler, output through files, a time limit).
public func runProcess(_ executable: URL, _ arguments: [String], cwd: URL? = nil, timeout: Double = 300) throws -> ProcessResult {
    let r = try Toolchain.run(executable, arguments, in: cwd, timeout: timeout, separateErrorOutput: true)
    return ProcessResult(status: r.status, stdout: r.output, stderr: r.errorOutput)
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

/// Tools some tests need; a test that needs one is skipped without it (Swift Testing reports
/// it as skipped, with the reason):
/// `@Test(.enabled(if: InstalledTools.armQEMU, Comment(rawValue: InstalledTools.armQEMUMissing)))`.
public enum InstalledTools {
    public static let armGCC = Toolchain.find("arm-none-eabi-gcc") != nil
    /// The cross compiler and the emulator.
    public static let armQEMU = armGCC && Toolchain.find("qemu-system-arm") != nil
    public static let armGCCMissing = "arm-none-eabi-gcc is not installed (scripts/deps.sh installs it)"
    public static let armQEMUMissing = "arm-none-eabi-gcc or qemu-system-arm is not installed (scripts/deps.sh installs them)"
}
