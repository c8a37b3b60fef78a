import Dispatch
import Foundation
import Pipeline
import Watch

extension Commands {
    static func watch(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["out", "cache", "settle", "poll", "threads", "time-limit", "memory-limit"], allowedFlags: [])
        if a.flags.contains("help") {
            print(Help.watch)
            return .ok
        }
        guard a.positionals.count <= 1 else { throw UsageError("watch takes one folder") }
        let root = URL(fileURLWithPath: a.positionals.first ?? "watched").standardizedFileURL
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDir), isDir.boolValue else {
            throw UsageError("no such folder: \(root.path)")
        }
        let out = URL(fileURLWithPath: a.options["out"] ?? "output").standardizedFileURL
        let cache = cacheDirectory(a, out: out)
        guard !out.path.hasPrefix(root.path + "/"), !cache.path.hasPrefix(root.path + "/") else {
            throw UsageError("the output and cache folders must not be inside the watched folder")
        }
        let options = RunOptions(outputDirectory: out, threads: try a.int("threads", default: 2, range: 1...64), cacheDirectory: cache)
        var config = Daemon.Config(root: root, options: options, lockDirectory: cache, statusFile: cache.appendingPathComponent("status.json"))
        if let s = a.options["settle"] {
            guard let v = Double(s), v > 0, v < 600 else { throw UsageError("--settle must be seconds between 0 and 600") }
            config.settle = v
        }
        if let p = a.options["poll"] {
            guard let v = Double(p), v > 0, v < 86400 else { throw UsageError("--poll must be a positive number of seconds") }
            config.poll = v
        }
        config.limits.seconds = Double(try a.int("time-limit", default: 3600, range: 1...604_800))
        config.limits.memoryBytes = try a.int("memory-limit", default: 8192, range: 64...1_048_576) << 20
        var holder = ""
        guard let daemonLock = try DaemonLock(directory: cache, holder: &holder) else {
            warn("tinympq: another tinympq daemon already uses \(cache.path) (\(holder.isEmpty ? "its pid is unknown" : holder)); not starting a second one")
            return .lockBusy
        }
        defer { withExtendedLifetime(daemonLock) {} }
        let daemon = Daemon(config: config) { line in
            let t = ISO8601DateFormatter().string(from: Date())
            FileHandle.standardError.write(Data("\(t) \(line)\n".utf8))
        }
        Signals.installCancellation { _ in daemon.stop() }
        signal(SIGHUP, SIG_IGN)
        let hup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hup.setEventHandler {
            daemon.rescan()
            daemon.retryFailed()
        }
        hup.resume()
        do {
            try daemon.run()
        } catch let e as WatchError {
            warn("tinympq: \(e.message)")
            return .stageFailed
        }
        withExtendedLifetime(hup) {}
        warn("tinympq: stopped")
        return .ok
    }

    static func status(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["out", "cache"], allowedFlags: [])
        if a.flags.contains("help") {
            print("USAGE: tinympq status [--out DIR] [--cache DIR]\n\nPrints the daemon's status.json (state, queue, running model, last results).")
            return .ok
        }
        let cache = cacheDirectory(a, out: URL(fileURLWithPath: a.options["out"] ?? "output"))
        let url = cache.appendingPathComponent("status.json")
        guard let d = try? Data(contentsOf: url) else {
            print("no daemon status at \(url.path) (no daemon has run with this cache)")
            return .ok
        }
        // status.json is written by the daemon; when its pid is gone it was killed: say so.
        if var obj = try? JSONSerialization.jsonObject(with: d) as? [String: Any], let pid = obj["pid"] as? Int,
           let state = obj["state"] as? String, state != "stopped", !processIsAlive(pid_t(pid)) {
            obj["state"] = "dead"
            obj["note"] = "the daemon (pid \(pid)) is not running; it was killed while '\(state)'. Nothing is running or queued."
            obj["running"] = [String]()
            obj["queue"] = [String]()
            obj.removeValue(forKey: "workerPid")
            if let fixed = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]) {
                print(String(decoding: fixed, as: UTF8.self))
                return .ok
            }
        }
        print(String(decoding: d, as: UTF8.self))
        return .ok
    }

    static func explain(_ args: [String]) throws -> ExitCode {
        var a = args
        a.append("--explain-internal")
        return try run(a)
    }

    static func gc(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["out", "cache", "max-age-days"], allowedFlags: [])
        if a.flags.contains("help") {
            print("USAGE: tinympq gc [--cache DIR] [--max-age-days N]\n\nRemoves cached stage results older than N days (default 30) and every blob nothing refers to.")
            return .ok
        }
        let cache = cacheDirectory(a, out: URL(fileURLWithPath: a.options["out"] ?? "output"))
        let days = try a.int("max-age-days", default: 30, range: 0...100_000)
        guard let lock = try PipelineLock(directory: cache, wait: true) else { return .lockBusy }
        defer { withExtendedLifetime(lock) {} }
        let (records, blobs) = try ArtifactStore(root: cache).collectGarbage(maxAge: Double(days) * 86400)
        print("gc: removed \(records) run records and \(blobs) blobs from \(cache.path)")
        return .ok
    }
}

/// Whether `pid` is a live process (not gone, not a zombie nobody has reaped).
func processIsAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first != "Z"
}
