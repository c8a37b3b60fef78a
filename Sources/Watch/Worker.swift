#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import Dispatch
import Foundation
import Graph
import Kernels
import Pipeline

/// Crash isolation: the daemon runs each model in a worker process, the one-shot
/// `tinympq run MODEL` started as a child of the same binary (no shell), with a time limit
/// (enforced here: SIGKILL past the deadline) and a memory limit (`RLIMIT_AS`, which the worker
/// sets on itself through the hidden `--memory-limit` option). A worker that traps, is killed or
/// runs out of time is a crash of that model only; the daemon goes on.
///
/// Protocol: the worker prints one `@result {json}` line per output folder on standard output
/// (`WorkerResult`); everything else it prints is its log, kept for the crash report.
public struct WorkerLimits: Sendable {
    /// Wall-clock seconds for one model (all its budgets).
    public var seconds: Double = 3600
    /// Address-space bytes of the worker (`RLIMIT_AS`).
    public var memoryBytes: Int = 8 << 30
    public init() {}
}

/// What the worker reports for one output folder.
public struct WorkerResult: Codable, Sendable {
    public var model: String
    public var output: String
    public var exitCode: Int32
    public var message: String

    public static let prefix = "@result "

    public init(model: String, output: String, exitCode: Int32, message: String) {
        self.model = model
        self.output = output
        self.exitCode = exitCode
        self.message = message
    }

    /// The line the worker prints.
    public var line: String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Self.prefix + String(decoding: (try? e.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// How a worker ended.
public struct WorkerOutcome: Sendable {
    public enum End: Sendable, Equatable {
        case exited(Int32)
        case signal(Int32)
        case timeLimit(Double)
    }

    public var end: End
    public var results: [WorkerResult]
    /// The worker's last output lines (its log), for the crash report.
    public var logTail: [String]

    /// A crash: death by a signal or the time limit, or an exit without any result.
    public var crashed: Bool {
        switch end {
        case .signal, .timeLimit: return true
        case .exited: return results.isEmpty
        }
    }

    public var crashDescription: String {
        switch end {
        case .signal(let s): return "the worker died by signal \(s) (\(Worker.signalName(s)))"
        case .timeLimit(let t): return "the worker exceeded the time limit of \(Int(t)) s and was killed"
        case .exited(let c): return "the worker exited with code \(c) without reporting a result"
        }
    }
}

public enum Worker {
    nonisolated(unsafe) static var orphanWatch: DispatchSourceTimer?

    /// This executable (the worker is the same binary).
    public static var executable: URL {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: path)
    }

    public static func signalName(_ s: Int32) -> String {
        switch s {
        case SIGILL: return "SIGILL: a Swift runtime trap, e.g. an arithmetic overflow"
        case SIGTRAP: return "SIGTRAP: a Swift runtime trap"
        case SIGSEGV: return "SIGSEGV: invalid memory access"
        case SIGBUS: return "SIGBUS"
        case SIGABRT: return "SIGABRT: aborted, e.g. out of memory under the memory limit"
        case SIGKILL: return "SIGKILL: killed"
        case SIGTERM: return "SIGTERM"
        case SIGFPE: return "SIGFPE: arithmetic error"
        default: return "signal \(s)"
        }
    }

    /// The worker's arguments for one model.
    static func arguments(model: URL, options: RunOptions, limits: WorkerLimits) -> [String] {
        var a = ["run", model.path, "--out", options.outputDirectory.path, "--threads", String(options.threads),
                 "--worker-internal", "--memory-limit", String(limits.memoryBytes)]
        if let c = options.cacheDirectory { a += ["--cache", c.path] } else { a.append("--no-cache") }
        return a
    }

    /// Runs one model in a worker; `started` gets the child's pid (to forward SIGTERM to it).
    /// `logFile` receives the worker's output.
    public static func run(model: URL, options: RunOptions, limits: WorkerLimits, logFile: URL,
                           started: (Int32) -> Void) throws -> WorkerOutcome {
        FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let fh = try FileHandle(forWritingTo: logFile)
        defer { try? fh.close() }
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments(model: model, options: options, limits: limits)
        p.standardOutput = fh
        p.standardError = fh
        p.standardInput = FileHandle.nullDevice
        // No symbolicated backtrace: it takes seconds and buries the last log lines.
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        started(p.processIdentifier)
        var timedOut = false
        if done.wait(timeout: .now() + limits.seconds) == .timedOut {
            timedOut = true
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
        let text = String(decoding: (try? Data(contentsOf: logFile)) ?? Data(), as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        let results = lines.filter { $0.hasPrefix(WorkerResult.prefix) }.compactMap {
            try? JSONDecoder().decode(WorkerResult.self, from: Data($0.dropFirst(WorkerResult.prefix.count).utf8))
        }
        let log = lines.filter { !$0.hasPrefix(WorkerResult.prefix) }
        let end: WorkerOutcome.End
        if timedOut {
            end = .timeLimit(limits.seconds)
        } else if p.terminationReason == .uncaughtSignal {
            end = .signal(p.terminationStatus)
        } else {
            end = .exited(p.terminationStatus)
        }
        return WorkerOutcome(end: end, results: results, logTail: Array(log.suffix(40)))
    }

    /// In the worker: applies the memory limit and dies with the daemon (no orphan keeps
    /// writing outputs after a `kill -9` of the daemon).
    public static func enterWorkerMode(memoryLimit: Int?) {
        setvbuf(stdout, nil, _IOLBF, 0)  // the log survives a trap, line by line
        StageLog.echo = { print($0) }
        let parent = getppid()
        let t = DispatchSource.makeTimerSource(queue: .global())
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler { if getppid() != parent { _exit(143) } }  // re-parented: the daemon died
        t.resume()
        orphanWatch = t
        if let m = memoryLimit, m > 0 {
            var r = rlimit(rlim_cur: rlim_t(m), rlim_max: rlim_t(m))
            _ = setrlimit(Int32(RLIMIT_AS.rawValue), &r)
        }
    }
}

/// The error report of a model whose worker crashed: `report.md`, `report.json` and
/// `logs/worker.log` in its output folder, published atomically like any result.
enum CrashReport {
    static func publish(model: URL, folder: URL, outcome: WorkerOutcome) throws {
        let message = "the tool crashed on this file: \(outcome.crashDescription). It is not retried until the file (or a file beside it) changes."
        let report: [String: Any] = [
            "schema": 1, "tool": ToolInfo.version, "model": folder.lastPathComponent, "file": model.lastPathComponent,
            "error": message, "stages": [String: Any](),
            "crash": ["description": outcome.crashDescription, "lastLogLines": outcome.logTail] as [String: Any],
        ]
        let json = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let md = """
        # \(folder.lastPathComponent): FAILED

        **\(message)**

        Model file: `\(model.lastPathComponent)`

        ## Last log lines of the worker

        ```
        \(outcome.logTail.joined(separator: "\n").replacingOccurrences(of: "```", with: "'''"))
        ```

        """
        let staged = try StagedFolder(target: folder)
        do {
            try staged.write("report.json", json + Data("\n".utf8))
            try staged.write("report.md", md)
            try staged.write("logs/worker.log", outcome.logTail.joined(separator: "\n") + "\n")
            try staged.publish()
        } catch {
            staged.discard()
            throw error
        }
    }
}

/// One daemon per cache folder (where its status.json lives): an flock on `<cache>/daemon.lock`,
/// held for the daemon's life, with its pid inside for the message a second daemon prints.
public final class DaemonLock: @unchecked Sendable {
    let fd: Int32

    /// Nil when another daemon holds it; `holder` then tells who.
    public init?(directory: URL, holder: inout String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("daemon.lock").path
        fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WatchError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            holder = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            close(fd)
            return nil
        }
        let info = "pid \(getpid()): \(CommandLine.arguments.joined(separator: " "))\n"
        _ = ftruncate(fd, 0)
        _ = info.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
