import Foundation
import TestSupport
import Testing

/// The real daemon binary on real inotify events in temporary folders.
@Suite(.serialized) struct DaemonTests {
    let root = Fixtures.temporaryDirectory("daemon")
    var watched: URL { root.appendingPathComponent("watched") }
    var out: URL { root.appendingPathComponent("out") }
    static let example = Fixtures.packageRoot.appendingPathComponent("watched")

    init() throws {
        try FileManager.default.createDirectory(at: root.appendingPathComponent("watched"), withIntermediateDirectories: true)
    }

    func start(settle: String = "0.2") throws -> DaemonProcess {
        let d = try DaemonProcess(["watch", watched.path, "--out", out.path, "--settle", settle], log: root.appendingPathComponent("daemon-\(UUID().uuidString.prefix(6)).log"))
        #expect(DaemonProcess.wait(timeout: 20) { d.output.contains("watching") }, "daemon did not start: \(d.output)")
        return d
    }

    func report(_ name: String) -> [String: Any]? {
        guard let d = try? Data(contentsOf: out.appendingPathComponent(name).appendingPathComponent("report.json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }

    func stageCached(_ name: String, _ stage: String) -> Bool? {
        ((report(name)?["stages"] as? [String: Any])?[stage] as? [String: Any])?["cached"] as? Bool
    }

    func count(_ s: String, in text: String) -> Int { text.components(separatedBy: s).count - 1 }

    func copyExample(to dir: URL, data: Bool = true) throws {
        for f in ["digits_cnn.onnx", "digits_cnn.budget.json"] + (data ? ["digits_cnn.npz", "digits_cnn.val.npz"] : []) {
            try FileManager.default.copyItem(at: Self.example.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
    }

    @Test func dropByCopyMoveAndHardLinkTouchAndBudgetEdit() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start()
        // cp (CLOSE_WRITE)
        try copyExample(to: watched)
        #expect(DaemonProcess.wait(timeout: 60) { report("digits_cnn") != nil }, "\(d.output)")
        #expect(count("processing", in: d.output) == 1)
        // touch: content unchanged → nothing runs
        let model = watched.appendingPathComponent("digits_cnn.onnx")
        try FileManager.default.setAttributes([.modificationDate: Date()], ofItemAtPath: model.path)
        usleep(1_500_000)
        #expect(count("processing", in: d.output) == 1)
        // budget edit: search and later rerun, parse is restored from the cache
        let budget = watched.appendingPathComponent("digits_cnn.budget.json")
        let text = try String(contentsOf: budget, encoding: .utf8).replacingOccurrences(of: "\"ram\": 1200", with: "\"ram\": 1100")
        try text.write(to: budget, atomically: true, encoding: .utf8)
        #expect(DaemonProcess.wait(timeout: 60) { count("digits_cnn: ok", in: d.output) == 2 }, "\(d.output)")
        #expect(stageCached("digits_cnn", "parse") == true)
        #expect(stageCached("digits_cnn", "search") == false)
        let log = try String(contentsOf: out.appendingPathComponent("digits_cnn/logs/02-search.log"), encoding: .utf8)
        #expect(log.contains("changed: the budget"))
        // mv from outside (MOVED_TO; a TFLite model) and a hard link (CREATE only)
        let outside = root.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.url("mobilenet_v1_tfl.tflite"), to: outside.appendingPathComponent("moved.tflite"))
        try FileManager.default.moveItem(at: outside.appendingPathComponent("moved.tflite"), to: watched.appendingPathComponent("moved.tflite"))
        try FileManager.default.copyItem(at: Fixtures.url("legacy_opset10.onnx"), to: outside.appendingPathComponent("linked.onnx"))
        #expect(link(outside.appendingPathComponent("linked.onnx").path, watched.appendingPathComponent("linked.onnx").path) == 0)
        #expect(DaemonProcess.wait(timeout: 120) { report("moved") != nil && report("linked") != nil }, "\(d.output)")
        // The TFLite model went through every stage, its C bit-exact on the host.
        let stages = report("moved")?["stages"] as? [String: [String: Any]] ?? [:]
        for s in ["parse", "search", "quantize", "validate", "codegen"] { #expect(stages[s]?["status"] as? String == "ok", "\(s): \(stages[s] ?? [:])") }
        #expect((report("moved")?["codegen"] as? [String: Any])?["hostBitExact"] as? Bool == true, "\(report("moved")?["codegen"] ?? "no codegen")")
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 10) == 0)
    }

    @Test func slowWriterIsProcessedOnceComplete() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        // Settle 0.5 s against writes 0.25 s apart: margin for a loaded CI machine.
        let d = try start(settle: "0.5")
        let bytes = try Data(contentsOf: Fixtures.url("mobilenet_v1_025_32.onnx"))
        let path = watched.appendingPathComponent("slow.onnx").path
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        #expect(fd >= 0)
        // Six chunks over ~1.5 s, each a separate write.
        let chunk = bytes.count / 6 + 1
        for i in 0..<6 {
            let part = bytes[(i * chunk)..<min(bytes.count, (i + 1) * chunk)]
            _ = part.withUnsafeBytes { write(fd, $0.baseAddress, part.count) }
            usleep(250_000)
        }
        close(fd)
        #expect(DaemonProcess.wait(timeout: 60) { report("slow") != nil }, "\(d.output)")
        usleep(1_000_000)
        #expect(count("processing", in: d.output) == 1, "\(d.output)")
        #expect((report("slow")?["stages"] as? [String: Any])?["parse"] != nil)
        #expect(report("slow")?["error"] == nil, "\(report("slow") ?? [:])")
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 10) == 0)
    }

    @Test func corruptModelDoesNotStopTheDaemonAndFiftyFilesAllRun() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        let d = try start()
        try Data([0x08, 0x07, 0x3a, 0x10, 0x01]).write(to: watched.appendingPathComponent("broken.onnx"))
        #expect(DaemonProcess.wait(timeout: 30) { report("broken") != nil }, "\(d.output)")
        #expect((report("broken")?["error"] as? String ?? "").contains("broken.onnx"))
        // Fifty models at once (same bytes under fifty names: the cache makes them cheap).
        try Data(#"{"flash": "2MB", "ram": "512kB", "search": {"method": "uniform"}}"#.utf8).write(to: root.appendingPathComponent("budget.json"))
        let src = Fixtures.url("legacy_opset10.onnx")
        let staging = root.appendingPathComponent("staging")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        for i in 0..<50 { try FileManager.default.copyItem(at: src, to: staging.appendingPathComponent("m\(i).onnx")) }
        try FileManager.default.moveItem(at: root.appendingPathComponent("budget.json"), to: watched.appendingPathComponent("budget.json"))
        for i in 0..<50 { try FileManager.default.moveItem(at: staging.appendingPathComponent("m\(i).onnx"), to: watched.appendingPathComponent("m\(i).onnx")) }
        #expect(DaemonProcess.wait(timeout: 240) { (0..<50).allSatisfy { report("m\($0)") != nil } }, "\(d.output.suffix(2000))")
        #expect((0..<50).allSatisfy { report("m\($0)")?["error"] == nil })
        #expect(d.process.isRunning)
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 10) == 0)
    }

    @Test func sigtermMidStageKeepsPreviousOutputsAndKillNineThenRestartCompletes() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try copyExample(to: watched)
        // A first complete result.
        let first = try runProcess(try tinympqBinary(), ["run", watched.path, "--out", out.path])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: out.appendingPathComponent("digits_cnn/report.json"))
        // A long search: HAQ with many episodes.
        let budget = #"{"flash": "4kB", "ram": 1200, "search": {"method": "haq", "episodes": 100000}, "data": "digits_cnn.npz"}"#
        let d = try start()
        try Data(budget.utf8).write(to: watched.appendingPathComponent("digits_cnn.budget.json"))
        #expect(DaemonProcess.wait(timeout: 30) { d.output.contains("processing") }, "\(d.output)")
        usleep(1_500_000)
        d.signal(SIGTERM)
        #expect(d.waitForExit(timeout: 15) == 0, "\(d.output)")
        #expect(try Data(contentsOf: out.appendingPathComponent("digits_cnn/report.json")) == before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        // kill -9 in the middle, then a restart with a feasible quick budget completes.
        let d2 = try start()
        #expect(DaemonProcess.wait(timeout: 30) { d2.output.contains("processing") }, "\(d2.output)")
        usleep(1_000_000)
        d2.signal(SIGKILL)
        _ = d2.waitForExit(timeout: 10)
        try Data(#"{"flash": "4kB", "ram": 1200, "search": {"method": "exact"}}"#.utf8).write(to: watched.appendingPathComponent("digits_cnn.budget.json"))
        let d3 = try start()
        #expect(DaemonProcess.wait(timeout: 60) {
            (report("digits_cnn")?["budget"] as? [String: Any])?["method"] as? String == "exact"
        }, "\(d3.output)")
        #expect(report("digits_cnn")?["error"] == nil)
        d3.signal(SIGTERM)
        #expect(d3.waitForExit(timeout: 10) == 0)
    }

    @Test func twoOneShotRunsShareTheLock() throws {
        defer { try? FileManager.default.removeItem(at: root) }
        try copyExample(to: watched)
        let slowBudget = #"{"flash": "4kB", "ram": 1200, "search": {"method": "haq", "episodes": 400}}"#
        try Data(slowBudget.utf8).write(to: watched.appendingPathComponent("digits_cnn.budget.json"))
        let first = try DaemonProcess(["run", watched.path, "--out", out.path], log: root.appendingPathComponent("first.log"))
        // Wait until the first run holds the lock (it writes its pid into the lock file).
        let lockFile = root.appendingPathComponent(".tinympq-cache/lock")
        #expect(DaemonProcess.wait(timeout: 60) {
            ((try? String(contentsOf: lockFile, encoding: .utf8)) ?? "").hasPrefix("\(first.process.processIdentifier) ")
        })
        let second = try runProcess(try tinympqBinary(), ["run", watched.path, "--out", out.path, "--no-wait"])
        #expect(second.status == 9, "\(second.stderr)")
        #expect(second.stderr.contains("holds the lock"))
        first.signal(SIGINT)
        #expect(first.waitForExit(timeout: 30) == 130, "\(first.output)")
    }
}
