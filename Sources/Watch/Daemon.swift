import Foundation
import Graph
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
        /// Limits of the worker process each model runs in.
        public var limits = WorkerLimits()
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
    /// Models whose worker crashed, by path: the digests of the model and its files then
    /// (`inputsDigest`). Not retried until one changes; kept across restarts in `quarantine.json`.
    var quarantine: [String: String] = [:]
    /// Models that failed (not crashed): SIGHUP retries them.
    var failed = Set<String>()
    /// Models that failed for lack of disk space, with the free bytes then: retried once space
    /// has been freed.
    var waitingForSpace: [String: UInt64] = [:]
    var lastSpaceCheck = Date()
    /// The running worker's pid (read by `stop` on another queue).
    let workerLock = NSLock()
    nonisolated(unsafe) var workerPID: Int32? = nil

    public init(config: Config, say: @escaping @Sendable (String) -> Void) {
        self.config = config
        self.say = say
        if let d = try? Data(contentsOf: quarantineFile), let q = try? JSONDecoder().decode([String: String].self, from: d) { quarantine = q }
    }

    var quarantineFile: URL { config.statusFile.deletingLastPathComponent().appendingPathComponent("quarantine.json") }

    func saveQuarantine() {
        guard let d = try? JSONEncoder().encode(quarantine) else { return }
        let tmp = quarantineFile.deletingLastPathComponent().appendingPathComponent(".quarantine.json.tmp-\(getpid())")
        if (try? d.write(to: tmp)) != nil { _ = rename(tmp.path, quarantineFile.path) }
    }

    func setWorker(_ pid: Int32?) {
        workerLock.lock()
        workerPID = pid
        workerLock.unlock()
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
            workerLock.lock()
            if let pid = workerPID { kill(pid, SIGTERM) }  // the worker cancels its stage and exits
            workerLock.unlock()
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

    /// SIGHUP: run the models that failed again (not those whose worker crashed: they wait
    /// for a change).
    public func retryFailed() {
        queue.async { [self] in
            guard !stopping else { return }
            let again = failed.union(waitingForSpace.keys)
            if !again.isEmpty { say("retrying \(again.count) failed model(s)") }
            dirty.formUnion(again)
            failed.removeAll()
            waitingForSpace.removeAll()
            startWork()
        }
    }

    /// Free bytes where the outputs go.
    func freeBytes() -> UInt64 {
        var st = statvfs()
        guard statvfs(config.options.outputDirectory.deletingLastPathComponent().path, &st) == 0 else { return 0 }
        return UInt64(st.f_bavail) * UInt64(st.f_frsize)
    }

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
        // Disk full: retry once space has been freed (checked every 5 s).
        if !waitingForSpace.isEmpty, now.timeIntervalSince(lastSpaceCheck) >= 5 {
            lastSpaceCheck = now
            let free = freeBytes()
            for (m, before) in waitingForSpace where free > before + (64 << 10) {
                say("disk space freed: retrying \(m)")
                waitingForSpace[m] = nil
                dirty.insert(m)
            }
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
        var batch: [String] = []
        for m in dirty.sorted() {
            if let q = quarantine[m], q == inputsDigest(m) {
                say("\(m): not retried: the tool crashed on this file before, and it has not changed")
                continue
            }
            batch.append(m)
        }
        dirty.removeAll()
        guard !batch.isEmpty else { return }
        let models = batch
        running = batch
        state = "running"
        writeStatus()
        work.async { [self] in
            do {
                guard let lock = try PipelineLock(directory: config.lockDirectory, wait: true) else { throw WatchError(message: "lock unavailable") }
                defer { withExtendedLifetime(lock) {} }
                let logs = config.lockDirectory.appendingPathComponent("tmp")
                try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
                for m in models where !Cancellation.isCancelled {
                    guard FileManager.default.fileExists(atPath: m) else { continue }
                    say("processing \(m)")
                    let model = URL(fileURLWithPath: m)
                    let logFile = logs.appendingPathComponent("worker-\(getpid()).log")
                    let o = try Worker.run(model: model, options: config.options, limits: config.limits, logFile: logFile) { pid in
                        setWorker(pid)
                        queue.async { [self] in writeStatus() }
                    }
                    setWorker(nil)
                    try? FileManager.default.removeItem(at: logFile)
                    if Cancellation.isCancelled { break }  // stopping: the worker was asked to stop
                    if o.crashed {
                        let folder = config.options.outputDirectory.appendingPathComponent(Names.fileName(model.deletingPathExtension().lastPathComponent))
                        var note = "error report in \(folder.path)/report.md"
                        do { try CrashReport.publish(model: model, folder: folder, outcome: o) } catch { note = "the error report could not be written: \(error)" }
                        say("\(model.lastPathComponent): CRASHED: \(o.crashDescription); \(note)")
                        for l in o.logTail.suffix(5) { say("  | \(l)") }
                        record([Outcome(path: m, model: folder.lastPathComponent, exitCode: ExitCode.stageFailed.rawValue,
                                        message: "the tool crashed on this file: \(o.crashDescription)", output: folder.path,
                                        crashDigest: inputsDigest(m))])
                        continue
                    }
                    for r in o.results {
                        say(r.exitCode == 0 ? "\(r.model): ok -> \(r.output)/report.md" : "\(r.model): FAILED (exit \(r.exitCode)): \(r.message)")
                    }
                    record(o.results.map { Outcome(path: m, model: $0.model, exitCode: $0.exitCode, message: $0.message, output: $0.output, crashDigest: nil) })
                }
            } catch {
                say("error: \(error)")
            }
            queue.async { [self] in
                running = []
                state = stopping ? "stopping" : "idle"
                writeStatus()
                startWork()
            }
        }
    }

    /// Records one model's outcomes (on `queue`, as each worker ends, so status.json stays current).
    func record(_ outcomes: [Outcome]) {
        let free = outcomes.contains { $0.message.contains(String(cString: strerror(ENOSPC))) } ? freeBytes() : 0
        queue.async { [self] in
            for r in outcomes {
                lastResults[r.model] = ["exitCode": String(r.exitCode), "message": r.message, "output": r.output,
                                        "finishedAt": ISO8601DateFormatter().string(from: Date())]
                if let d = r.crashDigest {
                    quarantine[r.path] = d
                    saveQuarantine()
                    continue
                }
                if quarantine.removeValue(forKey: r.path) != nil { saveQuarantine() }
                if r.message.contains(String(cString: strerror(ENOSPC))) {
                    waitingForSpace[r.path] = free
                } else if r.exitCode != 0 && r.exitCode != ExitCode.interrupted.rawValue && r.exitCode != ExitCode.terminated.rawValue {
                    failed.insert(r.path)
                } else {
                    failed.remove(r.path)
                }
            }
            running.removeAll { p in outcomes.contains { $0.path == p } }
            writeStatus()
        }
    }

    /// One output folder's result, or a crash of the model's worker.
    struct Outcome {
        var path: String
        var model: String
        var exitCode: Int32
        var message: String
        var output: String
        /// `inputsDigest` of the model when its worker crashed.
        var crashDigest: String?
    }

    /// The digests of a model and the files that go with it (`NAME.*`, `budget.json`): a
    /// crashed model is retried when this changes.
    func inputsDigest(_ model: String) -> String {
        let url = URL(fileURLWithPath: model)
        let dir = url.deletingLastPathComponent()
        let stem = url.deletingPathExtension().lastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [])
            .filter { $0 == "budget.json" || $0.hasPrefix(stem + ".") }.sorted()
        return names.map { "\($0)=\((try? fileDigest(dir.appendingPathComponent($0))) ?? "?")" }.joined(separator: ";")
    }


    func writeStatus() {
        var obj: [String: Any] = [
            "state": state, "pid": Int(getpid()), "version": ToolInfo.version, "startedAt": ISO8601DateFormatter().string(from: startedAt),
            "watched": config.root.path, "backend": source?.backend ?? "", "queue": dirty.sorted(), "running": running,
            "lastResults": lastResults, "quarantined": quarantine.keys.sorted(), "waitingForSpace": waitingForSpace.keys.sorted(),
        ]
        workerLock.lock()
        if let w = workerPID { obj["workerPid"] = Int(w) }
        workerLock.unlock()
        obj["updatedAt"] = ISO8601DateFormatter().string(from: Date())
        guard let data = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) else { return }
        let url = config.statusFile
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".status.json.tmp-\(getpid())")
        if (try? data.write(to: tmp)) != nil { _ = rename(tmp.path, url.path) }
    }
}
