import Foundation
import Kernels
import Pipeline

/// The watch-folder daemon: file events → settle → content-hash dedup → the cached pipeline
/// for the affected models, one batch at a time, under the shared lock.
///
/// Settling: a path is considered after `settle` seconds without events, then once its size
/// and mtime stay the same across two checks `settle/2` apart (a file written slowly over
/// several seconds is picked up once, complete); after 10 s of continuous change it is taken
/// anyway and checked again later. A path whose content digest equals the one last processed
/// (a `touch`, an identical copy) does nothing.
public final class Daemon: @unchecked Sendable {
    public struct Config: Sendable {
        public var root: URL
        public var options: RunOptions
        public var lockDirectory: URL
        public var statusFile: URL
        public var settle: Double = 0.5
        public var poll: Double? = nil
        public init(root: URL, options: RunOptions, lockDirectory: URL, statusFile: URL) {
            self.root = root
            self.options = options
            self.lockDirectory = lockDirectory
            self.statusFile = statusFile
        }
    }

    let config: Config
    let say: @Sendable (String) -> Void
    let queue = DispatchQueue(label: "tinympq.daemon")
    let work = DispatchQueue(label: "tinympq.pipeline")
    var source: FileEventSource!
    var timer: DispatchSourceTimer?
    // State below is touched only on `queue`.
    var pending: [String: (lastEvent: Date, firstEvent: Date, stat: String?, statAt: Date?)] = [:]
    var digests: [String: String] = [:]
    var dirty = Set<String>()
    var running: [String] = []
    var lastResults: [String: [String: String]] = [:]
    var state = "starting"
    let startedAt = Date()
    let done = DispatchSemaphore(value: 0)
    var stopping = false

    public init(config: Config, say: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.say = say
    }

    static let relevantSuffixes = Discovery.modelExtensions.sorted().map { "." + $0 } + [".budget.json", ".npz", ".npy", ".policy.json"]

    static func isRelevant(_ name: String) -> Bool {
        !Discovery.isTemporaryName(name) && (name == "budget.json" || relevantSuffixes.contains { name.hasSuffix($0) })
    }

    /// Starts watching; returns when `stop()` has finished.
    public func run() throws {
        source = config.poll.map { PollingSource(interval: $0) as FileEventSource } ?? InotifySource(root: config.root)
        try source.start { [self] ev in queue.async { self.handle(ev) } }
        say("watching \(config.root.path) (\(source.backend)); outputs in \(config.options.outputDirectory.path)")
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + 0.1, repeating: 0.1)
        t.setEventHandler { [self] in tick() }
        t.resume()
        timer = t
        queue.async { [self] in
            state = "idle"
            writeStatus()
        }
        done.wait()
    }

    /// Graceful stop: no new work, the running stage is cancelled, staging removed.
    public func stop() {
        queue.async { [self] in
            guard !stopping else { return }
            stopping = true
            state = "stopping"
            writeStatus()
            source?.stop()
            timer?.cancel()
            Cancellation.cancel()
            work.async { [self] in
                queue.async { [self] in
                    state = "stopped"
                    writeStatus()
                    done.signal()
                }
            }
        }
    }

    /// SIGHUP: look at everything again.
    public func rescan() { queue.async { [self] in handle(.rescan) } }

    func handle(_ ev: FileEvent) {
        guard !stopping else { return }
        switch ev {
        case .rescan:
            let fm = FileManager.default
            guard let e = fm.enumerator(at: config.root, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles]) else { return }
            for case let u as URL in e where Self.isRelevant(u.lastPathComponent) { note(u.standardizedFileURL.path) }
        case .changed(let path):
            let name = (path as NSString).lastPathComponent
            guard Self.isRelevant(name) else { return }
            note(path)
        }
    }

    func note(_ path: String) {
        let now = Date()
        let first = pending[path]?.firstEvent ?? now
        pending[path] = (now, first, nil, nil)
    }

    func tick() {
        let now = Date()
        for (path, p) in pending {
            let quiet = now.timeIntervalSince(p.lastEvent) >= config.settle
            let overdue = now.timeIntervalSince(p.firstEvent) >= 10
            guard quiet || overdue else { continue }
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                pending[path] = nil  // gone, or not a regular file
                continue
            }
            let sig = "\(st.st_size):\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
            if !overdue {
                guard let prev = p.stat, let at = p.statAt else {
                    pending[path] = (p.lastEvent, p.firstEvent, sig, now)
                    continue
                }
                if prev != sig {
                    pending[path] = (now, p.firstEvent, sig, now)
                    continue
                }
                guard now.timeIntervalSince(at) >= config.settle / 2 else { continue }
            }
            pending[path] = nil
            guard let digest = try? fileDigest(URL(fileURLWithPath: path)) else { continue }
            if digests[path] == digest { continue }  // touched or rewritten with the same bytes
            digests[path] = digest
            for m in affectedModels(path) { dirty.insert(m) }
        }
        startWork()
    }

    /// The models a changed file concerns: itself, the models named like it, or every model
    /// in its folder (for budget.json).
    func affectedModels(_ path: String) -> [String] {
        let url = URL(fileURLWithPath: path)
        if Discovery.modelExtensions.contains(url.pathExtension.lowercased()) { return [path] }
        let dir = url.deletingLastPathComponent()
        let models = (try? Discovery.models([dir])) ?? []
        if url.lastPathComponent == "budget.json" { return models.map(\.path) }
        return models.filter { url.lastPathComponent.hasPrefix($0.deletingPathExtension().lastPathComponent + ".") }.map(\.path)
    }

    func startWork() {
        guard running.isEmpty, !dirty.isEmpty, !stopping else { return }
        let batch = dirty.sorted()
        dirty.removeAll()
        running = batch
        state = "running"
        writeStatus()
        work.async { [self] in
            var results: [(String, ModelRun)] = []
            do {
                guard let lock = try PipelineLock(directory: config.lockDirectory, wait: true) else { throw WatchError(message: "lock unavailable") }
                defer { withExtendedLifetime(lock) {} }
                let runner = PipelineRunner(options: config.options, say: say)
                for m in batch where !Cancellation.isCancelled {
                    guard FileManager.default.fileExists(atPath: m) else { continue }
                    say("processing \(m)")
                    for r in runner.run(model: URL(fileURLWithPath: m)) {
                        results.append((m, r))
                        say(r.exitCode == .ok ? "\(r.model): ok -> \(r.outputFolder.path)/report.md" : "\(r.model): FAILED (exit \(r.exitCode.rawValue)): \(r.message)")
                    }
                }
            } catch {
                say("error: \(error)")
            }
            let finished = results
            queue.async { [self] in
                for (_, r) in finished {
                    lastResults[r.model] = ["exitCode": String(r.exitCode.rawValue), "message": r.message, "output": r.outputFolder.path,
                                            "finishedAt": ISO8601DateFormatter().string(from: Date())]
                }
                running = []
                state = stopping ? "stopping" : "idle"
                writeStatus()
                startWork()
            }
        }
    }

    func writeStatus() {
        var obj: [String: Any] = [
            "state": state, "pid": Int(getpid()), "version": ToolInfo.version, "startedAt": ISO8601DateFormatter().string(from: startedAt),
            "watched": config.root.path, "backend": source?.backend ?? "", "queue": dirty.sorted(), "running": running,
            "lastResults": lastResults,
        ]
        obj["updatedAt"] = ISO8601DateFormatter().string(from: Date())
        guard let data = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) else { return }
        let url = config.statusFile
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".status.json.tmp-\(getpid())")
        if (try? data.write(to: tmp)) != nil { _ = rename(tmp.path, url.path) }
    }
}
