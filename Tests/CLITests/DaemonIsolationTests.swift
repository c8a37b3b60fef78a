import Foundation
import TestSupport
import Testing

/// Issue 17 in the daemon: every model runs in a worker process; a worker that dies (signal,
/// memory limit, time limit) becomes that model's error report and the daemon goes on.
@Suite(.serialized) struct DaemonIsolationTests {
    let root = Fixtures.temporaryDirectory("isolation")
    var watched: URL { root.appendingPathComponent("watched") }
    var out: URL { root.appendingPathComponent("out") }
    var statusFile: URL { root.appendingPathComponent(".tinympq-cache/status.json") }

    init() throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("watched"), withIntermediateDirectories: true)
    }

    func start(_ extra: [String] = []) throws -> DaemonProcess {
        let d = try DaemonProcess(["watch", watched.path, "--out", out.path, "--settle", "0.2"] + extra,
                                  log: root.appendingPathComponent("daemon-\(UUID().uuidString.prefix(6)).log"))
        #expect(DaemonProcess.wait(timeout: 20) { d.output.contains("watching") }, "daemon did not start: \(d.output)")
        return d
    }

    func report(_ name: String) -> [String: Any]? {
        guard let d = try? Data(contentsOf: out.appendingPathComponent(name).appendingPathComponent("report.json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }

    func status() -> [String: Any] {
        guard let d = try? Data(contentsOf: statusFile) else { return [:] }
        return (try? JSONSerialization.jsonObject(with: d) as? [String: Any]) ?? [:]
    }

    /// Went through validation (codegen's QEMU checks are not what these tests are about).
    func validated(_ name: String) -> Bool {
        ((report(name)?["stages"] as? [String: Any])?["validate"] as? [String: Any])?["status"] as? String == "ok"
    }

    func error(_ name: String) -> String { report(name)?["error"] as? String ?? "" }

    func count(_ s: String, in text: String) -> Int { text.components(separatedBy: s).count - 1 }

    func drop(_ fixture: String, as name: String) throws {
        // Written beside, then moved in: the daemon sees one complete file.
        let tmp = root.appendingPathComponent(name)
        try? FileManager.default.removeItem(at: tmp)
        try FileManager.default.copyItem(at: Fixtures.url(fixture), to: tmp)
        try? FileManager.default.removeItem(at: watched.appendingPathComponent(name))
        try FileManager.default.moveItem(at: tmp, to: watched.appendingPathComponent(name))
    }

    func stop(_ d: DaemonProcess) {
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 15) == 0, "\(d.output.suffix(1500))")
    }

    /// A worker over the memory limit dies (SIGABRT); the model gets "the tool crashed on this
    /// file", the next model is processed, the crashed one is not retried until it changes,
    /// not even after SIGHUP or a restart.
    @Test func memoryLimitCrashIsReportedAndTheDaemonGoesOn() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start(["--memory-limit", "256"])
        try drop("hostile/big_input.onnx", as: "big.onnx")
        #expect(DaemonProcess.wait(timeout: 60) { error("big").contains("the tool crashed on this file") }, "\(d.output)")
        #expect(error("big").contains("signal"), "\(error("big"))")
        let lastLines = ((report("big")?["crash"] as? [String: Any])?["lastLogLines"] as? [String]) ?? []
        #expect(lastLines.contains { $0.contains("[search]") }, "\(lastLines)")
        #expect(lastLines.contains { $0.contains("failed to allocate") }, "\(lastLines)")
        // The next file is processed while the daemon lives on.
        try drop("hostile/tiny_cnn.onnx", as: "next.onnx")
        #expect(DaemonProcess.wait(timeout: 120) { report("next") != nil }, "\(d.output)")
        #expect(validated("next"), "\(report("next") ?? [:])")
        #expect(d.process.isRunning)
        // status.json is true: the daemon's pid, nothing running, the crashed model quarantined.
        #expect(DaemonProcess.wait(timeout: 10) { (status()["running"] as? [String])?.isEmpty == true })
        #expect(status()["pid"] as? Int == Int(d.process.processIdentifier))
        #expect(status()["workerPid"] == nil)
        #expect((status()["quarantined"] as? [String] ?? []).contains { $0.hasSuffix("big.onnx") })
        // The same bytes again, then SIGHUP: not retried.
        try drop("hostile/big_input.onnx", as: "big.onnx")
        d.signal(SIGHUP)
        usleep(2_000_000)
        #expect(count("processing \(watched.path)/big.onnx", in: d.output) == 1, "\(d.output)")
        stop(d)
        // A restart does not retry it either.
        let d2 = try start(["--memory-limit", "256"])
        #expect(DaemonProcess.wait(timeout: 20) { d2.output.contains("big.onnx: not retried") }, "\(d2.output)")
        #expect(count("processing \(watched.path)/big.onnx", in: d2.output) == 0)
        stop(d2)
    }

    /// A worker killed by a signal (here SIGSEGV from outside) and a worker over the time limit.
    @Test func signalAndTimeLimitBecomeErrorReports() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let slow = #"{"flash": "4kB", "ram": 1200, "search": {"method": "haq", "episodes": 100000}}"#
        try Data(slow.utf8).write(to: watched.appendingPathComponent("digits_cnn.budget.json"))
        let d = try start()
        try drop("../../watched/digits_cnn.onnx", as: "digits_cnn.onnx")
        #expect(DaemonProcess.wait(timeout: 30) { status()["workerPid"] != nil }, "\(d.output)")
        let worker = try #require(status()["workerPid"] as? Int)
        #expect(worker != Int(d.process.processIdentifier))
        usleep(500_000)
        kill(pid_t(worker), SIGSEGV)
        #expect(DaemonProcess.wait(timeout: 30) { error("digits_cnn").contains("signal 11") }, "\(d.output)")
        #expect(d.process.isRunning)
        stop(d)
        // Time limit: a changed budget (so the model is retried), a 3-second limit.
        try Data(slow.replacingOccurrences(of: "100000", with: "99999").utf8).write(to: watched.appendingPathComponent("digits_cnn.budget.json"))
        let d2 = try start(["--time-limit", "3"])
        #expect(DaemonProcess.wait(timeout: 60) { error("digits_cnn").contains("time limit of 3 s") }, "\(d2.output)")
        stop(d2)
    }

    /// Issue 17's reproducers dropped into a running daemon: each gets its error report naming
    /// the file; the good model after them is processed.
    @Test func reproducersGetErrorReportsWhileTheNextFileIsProcessed() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start()
        for f in ["external_offset", "reshape_huge", "nan_weight", "duplicate_output"] {
            try drop("hostile/\(f).onnx", as: "\(f).onnx")
        }
        try drop("hostile/x_neg_inf.npz", as: "baddata.npz")
        try drop("hostile/tiny_cnn.onnx", as: "baddata.onnx")
        try drop("hostile/tiny_cnn.onnx", as: "good.onnx")
        let expected = ["external_offset": "offset", "reshape_huge": "cannot reshape", "nan_weight": "NaN", "duplicate_output": "already written",
                        "baddata": "array 'x'"]
        #expect(DaemonProcess.wait(timeout: 180) { report("good") != nil && expected.keys.allSatisfy { report($0) != nil } }, "\(d.output)")
        for (name, fragment) in expected {
            #expect(error(name).contains(fragment) && !error(name).contains("crashed"), "\(name): \(error(name))")
        }
        #expect(validated("good"), "\(report("good") ?? [:])")
        #expect(d.process.isRunning)
        stop(d)
    }

    @Test func aSecondDaemonRefusesToStart() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start()
        let second = try runProcess(try tinympqBinary(), ["watch", watched.path, "--out", out.path], timeout: 30)
        #expect(second.status == 9)
        #expect(second.stderr.contains("another tinympq daemon") && second.stderr.contains("pid \(d.process.processIdentifier)"), "\(second.stderr)")
        stop(d)
    }

    /// A model that failed (here: its output folder could not be written) is retried on SIGHUP.
    @Test func sighupRetriesFailedModels() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try Data("not a folder".utf8).write(to: out)  // publishing fails
        let d = try start()
        try drop("hostile/tiny_cnn.onnx", as: "m.onnx")
        #expect(DaemonProcess.wait(timeout: 60) { d.output.contains("m: FAILED") }, "\(d.output)")
        try FileManager.default.removeItem(at: out)
        d.signal(SIGHUP)
        #expect(DaemonProcess.wait(timeout: 60) { report("m") != nil }, "\(d.output)")
        #expect(report("m")?["error"] == nil)
        stop(d)
    }

    /// Root can mount a small tmpfs (CI runs as root); elsewhere the disk-full test is skipped.
    static let canMountTmpfs: Bool = {
        let dir = Fixtures.temporaryDirectory("tmpfs-probe")
        defer { try? FileManager.default.removeItem(at: dir) }
        guard getuid() == 0, let r = try? runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir.path], timeout: 10),
              r.status == 0 else { return false }
        _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [dir.path], timeout: 10)
        return true
    }()

    /// A full disk: the model fails with ENOSPC, waits, and is retried once space is freed
    /// (no touch, no SIGHUP).
    @Test(.enabled(if: canMountTmpfs, "needs root to mount a small tmpfs")) func aFullDiskIsRetriedWhenSpaceIsFreed() throws {
        let disk = root.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mount = try runProcess(URL(fileURLWithPath: "/bin/mount"), ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk.path])
        #expect(mount.status == 0)
        defer {
            _ = try? runProcess(URL(fileURLWithPath: "/bin/umount"), [disk.path])
            try? FileManager.default.removeItem(at: root)
        }
        // Fill the disk but for a few kB.
        let filler = disk.appendingPathComponent("filler")
        try Data(count: 1_000_000).write(to: filler)
        let out = disk.appendingPathComponent("out")
        let d = try DaemonProcess(["watch", watched.path, "--out", out.path, "--cache", root.appendingPathComponent("cache").path, "--settle", "0.2"],
                                  log: root.appendingPathComponent("daemon-disk.log"))
        #expect(DaemonProcess.wait(timeout: 20) { d.output.contains("watching") }, "\(d.output)")
        try drop("hostile/tiny_cnn.onnx", as: "m.onnx")
        #expect(DaemonProcess.wait(timeout: 60) { d.output.contains("m: FAILED") }, "\(d.output)")
        #expect(d.output.contains("No space left on device"), "\(d.output)")
        try FileManager.default.removeItem(at: filler)
        #expect(DaemonProcess.wait(timeout: 60) { FileManager.default.fileExists(atPath: out.appendingPathComponent("m/report.json").path) }, "\(d.output)")
        #expect(d.output.contains("disk space freed: retrying"))
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 15) == 0)
    }

    @Test func statusSaysWhenTheDaemonWasKilled() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start()
        #expect(DaemonProcess.wait(timeout: 10) { status()["state"] as? String == "idle" })
        d.signal(SIGKILL)
        _ = d.waitForExit(timeout: 10)
        let r = try runProcess(try tinympqBinary(), ["status", "--out", out.path])
        #expect(r.stdout.contains("\"state\" : \"dead\""), "\(r.stdout)")
        #expect(r.stdout.contains("pid \(d.process.processIdentifier)"))
    }
}
