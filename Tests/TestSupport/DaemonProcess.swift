import Dispatch
import Foundation

/// A `tinympq watch` process for the integration tests: real binary, real inotify.
public final class DaemonProcess: @unchecked Sendable {
    public let process = Process()
    public let log: URL
    let done = DispatchSemaphore(value: 0)

    public init(_ arguments: [String], log: URL) throws {
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = try tinympqBinary()
        process.arguments = arguments
        let fh = try FileHandle(forWritingTo: log)
        process.standardOutput = fh
        process.standardError = fh
        process.terminationHandler = { [done] _ in done.signal() }
        try process.run()
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds (polling), up to `timeout` seconds.
    @discardableResult
    public static func wait(timeout: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }

    public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    /// Waits for exit; returns the status (nil on timeout).
    public func waitForExit(timeout: Double) -> Int32? {
        done.wait(timeout: .now() + timeout) == .timedOut ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            done.wait()
        }
    }
}
