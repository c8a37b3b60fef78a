import Foundation
import TestSupport
import Testing

/// Budget sweeps: one output folder per point, one summary per model, shared cached work; and
/// `--shard`, which splits models × budgets over processes.
@Suite struct SweepTests {
    static let flashSizes = ["3kB", "3.5kB", "4kB", "5kB", "6kB"]

    /// The shipped digits example with a budget that sweeps `flash`.
    func digits(_ tag: String, flash: [String]) throws -> URL {
        let dir = Fixtures.temporaryDirectory(tag)
        let w = dir.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: w, withIntermediateDirectories: true)
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz"] {
            try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("watched/\(f)"), to: w.appendingPathComponent(f))
        }
        let list = flash.map { "\"\($0)\"" }.joined(separator: ", ")
        try """
        { "name": "m4", "target": "cortex-m4", "ram": 1200, "sweep": { "flash": [\(list)] },
          "data": "digits_cnn.npz", "validationData": "digits_cnn.val.npz" }
        """.write(to: w.appendingPathComponent("digits_cnn.budget.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    @Test func sweepOfFiveFlashBudgetsGivesFiveFoldersOneSummaryAndParsesOnce() throws {
        let dir = try digits("sweep", flash: Self.flashSizes)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.appendingPathComponent("w").path, "--out", out.path,
                                                     "--cache", dir.appendingPathComponent("cache").path, "--until", "validate"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let folders = Self.flashSizes.map { "digits_cnn.m4-flash\($0)" }
        let listed = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { !$0.hasPrefix(".") }.sorted()
        #expect(listed == (folders + ["digits_cnn.sweep"]).sorted())
        // Parse and the sensitivity table ran for the first point only; the others restored them.
        var parsed = 0, sensitivity = 0, calibrated = 0
        for f in folders {
            let logs = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("\(f)/logs").path)
                .map { try String(contentsOf: out.appendingPathComponent("\(f)/logs/\($0)"), encoding: .utf8) }.joined()
            if logs.contains("calibrating on") { calibrated += 1 }
            let parse = try String(contentsOf: out.appendingPathComponent("\(f)/logs/01-parse.log"), encoding: .utf8)
            let search = try String(contentsOf: out.appendingPathComponent("\(f)/logs/02-search.log"), encoding: .utf8)
            if !(parse.components(separatedBy: "\n").first ?? "").contains("restored from cache") { parsed += 1 }
            if !search.contains("sensitivity restored from cache") { sensitivity += 1 }
        }
        #expect(parsed == 1 && sensitivity == 1, "parse ran \(parsed)×, sensitivity \(sensitivity)×")
        // Calibration ran once too; the other points reused its statistics.
        #expect(calibrated == 1, "calibration ran \(calibrated)×")
        // The summary repeats each report.json's figures and names a front and its knee.
        let summary = try json(out.appendingPathComponent("digits_cnn.sweep/summary.json"))
        let points = summary["points"] as? [[String: Any]] ?? []
        #expect(points.map { $0["folder"] as? String ?? "" } == folders)
        for p in points {
            let report = try json(out.appendingPathComponent("\(p["folder"] as? String ?? "")/report.json"))
            let v = report["validation"] as? [String: Any], fp = report["footprint"] as? [String: Any]
            #expect(p["accuracyQuantized"] as? Double == v?["accuracyQuantized"] as? Double)
            #expect(p["meanKL"] as? Double == v?["meanKL"] as? Double)
            #expect(p["flashBytes"] as? Int == fp?["flashBytes"] as? Int && p["fits"] as? Bool == true)
        }
        #expect(summary["accuracyMeasure"] as? String == "accuracy")
        let front = summary["paretoFlash"] as? [String] ?? []
        #expect(!front.isEmpty && front.contains(summary["kneeFlash"] as? String ?? "-"))
        // Along the FLASH front accuracy never falls.
        let accuracy = Dictionary(uniqueKeysWithValues: points.map { ($0["folder"] as? String ?? "", $0["accuracyQuantized"] as? Double ?? 0) })
        #expect(zip(front, front.dropFirst()).allSatisfy { accuracy[$0.0]! < accuracy[$0.1]! })
        let html = try String(contentsOf: out.appendingPathComponent("digits_cnn.sweep/summary.html"), encoding: .utf8)
        #expect(html.contains("data-chart=\"pareto-flash\"") && html.contains("data-chart=\"pareto-ram\""))
        #expect(html.components(separatedBy: "class=\"point\"").count - 1 == 2 * folders.count)
        #expect(!html.contains("<script"))
    }

    @Test(arguments: [
        ("{\"flash\": 1, \"ram\": 1200, \"sweep\": {\"flash\": [\"2kB\"], \"rom\": [1]}}", "field 'sweep.rom': unknown field"),
        ("{\"ram\": 1200, \"sweep\": {\"flash\": []}}", "field 'sweep.flash': must be a list of 1 to 64 sizes"),
        ("{\"ram\": 1200, \"sweep\": {\"flash\": [\"2kB\", \"two\"]}}", "field 'sweep.flash[1]': 'two' is not a size"),
        ("{\"ram\": 1200, \"sweep\": {\"flash\": [2000, \"2kB\"]}}", "field 'sweep.flash': lists the same size twice"),
        ("{\"flash\": 4000, \"ram\": 1200, \"sweep\": [1]}", "field 'sweep': must be an object"),
    ])
    func badSweepIsAnErrorNamingTheField(budget: String, message: String) throws {
        let dir = try digits("sweep-bad", flash: ["4kB"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w")
        try budget.write(to: w.appendingPathComponent("digits_cnn.budget.json"), atomically: true, encoding: .utf8)
        let r = try runProcess(try tinympqBinary(), ["run", w.path, "--out", dir.appendingPathComponent("out").path, "--until", "parse"])
        #expect(r.status == 2)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// report.json without what differs between two runs of the same work: timings, cache
    /// hits, and the rank correlation (the search draws its random check policies from the
    /// system generator).
    func stable(_ url: URL) throws -> String {
        var r = try json(url)
        r["stages"] = nil
        if var s = r["search"] as? [String: Any] {
            s["rankCorrelation"] = nil
            s["comparison"] = (s["comparison"] as? [[String: Any]])?.map { row in row.filter { $0.key != "seconds" } }
            r["search"] = s
        }
        let d = try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys])
        return String(decoding: d, as: UTF8.self)
    }

    @Test func twoShardsAtOnceOnOneCacheGiveTheSameOutputsAsOneProcess() throws {
        let sizes = ["3.5kB", "4kB", "5kB"]
        let dir = try digits("shard", flash: sizes)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A second model (the same network, calibrated on the other data set) makes the job
        // list models × budgets.
        let w = dir.appendingPathComponent("w")
        for ext in ["onnx", "npz", "val.npz", "budget.json"] {
            try FileManager.default.copyItem(at: w.appendingPathComponent("digits_cnn.\(ext)"), to: w.appendingPathComponent("digits_b.\(ext)"))
        }
        let budgetB = w.appendingPathComponent("digits_b.budget.json")
        try String(contentsOf: budgetB, encoding: .utf8).replacingOccurrences(of: "digits_cnn.npz", with: "digits_b.val.npz")
            .replacingOccurrences(of: "digits_cnn.val.npz", with: "digits_b.npz").write(to: budgetB, atomically: true, encoding: .utf8)
        let alone = dir.appendingPathComponent("alone"), shared = dir.appendingPathComponent("shared")
        let one = try runProcess(try tinympqBinary(), ["run", w.path, "--out", alone.path, "--cache", dir.appendingPathComponent("cache1").path, "--until", "validate"])
        #expect(one.status == 0, "\(one.stderr)")
        // Two shards started together on one cache and one output folder.
        let cache2 = dir.appendingPathComponent("cache2").path
        let results = try [1, 2].map { i in
            try ShardProcess(try tinympqBinary(), ["run", w.path, "--out", shared.path, "--cache", cache2, "--until", "validate", "--shard", "\(i)/2"])
        }.map { $0.wait() }
        for r in results { #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)") }
        // Six jobs, three each, every one exactly once.
        let said = results.map { $0.stdout.components(separatedBy: "\n").first { $0.contains("shard") } ?? "" }
        #expect(said[0].contains("3 of 6 jobs") && said[1].contains("3 of 6 jobs"), "\(said)")
        let names = { (u: URL) in try FileManager.default.contentsOfDirectory(atPath: u.path).filter { !$0.hasPrefix(".") }.sorted() }
        let folders = try names(alone)
        let sharded = try names(shared)
        #expect(folders.count == 8 && sharded == folders)
        for f in folders where !f.hasSuffix(".sweep") {
            #expect(try stable(alone.appendingPathComponent("\(f)/report.json")) == (try stable(shared.appendingPathComponent("\(f)/report.json"))), "\(f)")
            for file in ["policy.json", "quantized.json", "validation.json"] {
                #expect(try Data(contentsOf: alone.appendingPathComponent("\(f)/\(file)")) == (try Data(contentsOf: shared.appendingPathComponent("\(f)/\(file)"))), "\(f)/\(file)")
            }
        }
        for m in ["digits_cnn", "digits_b"] {
            let a = try Data(contentsOf: alone.appendingPathComponent("\(m).sweep/summary.json"))
            #expect(a == (try Data(contentsOf: shared.appendingPathComponent("\(m).sweep/summary.json"))), "\(m) summary")
        }
    }

    @Test func shardsShareTheCacheLockAndAWholeRunWaitsForThem() throws {
        let dir = try digits("shard-lock", flash: ["4kB", "5kB"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), cache = dir.appendingPathComponent("cache")
        try FileManager.default.createDirectory(at: cache, withIntermediateDirectories: true)
        // Hold the lock as another shard would.
        let fd = open(cache.appendingPathComponent("lock").path, O_CREAT | O_RDWR, 0o644)
        defer { close(fd) }
        #expect(fd >= 0 && flock(fd, LOCK_SH) == 0)
        let args = ["run", w.path, "--out", dir.appendingPathComponent("out").path, "--cache", cache.path, "--until", "parse", "--no-wait"]
        let shard = try runProcess(try tinympqBinary(), args + ["--shard", "1/2"])
        #expect(shard.status == 0, "a shard must run beside another: \(shard.stderr)")
        let whole = try runProcess(try tinympqBinary(), args)
        #expect(whole.status == 9, "a whole run must wait for the shards: \(whole.stderr)")
    }

    @Test func shardAssignmentIsARoundRobinOverTheBudgetsInFileOrder() throws {
        let dir = try digits("shard-list", flash: ["3.5kB", "4kB", "5kB"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w")
        var said: [String] = []
        for i in 1...2 {
            let r = try runProcess(try tinympqBinary(), ["explain", w.path, "--out", dir.appendingPathComponent("o").path, "--shard", "\(i)/2"])
            #expect(r.status == 0, "\(r.stderr)")
            said.append(r.stdout.components(separatedBy: "\n").first { $0.contains("shard") } ?? "")
        }
        #expect(said[0].hasSuffix("shard 1/2: 2 of 3 jobs: digits_cnn.m4-flash3.5kB, digits_cnn.m4-flash5kB"), "\(said[0])")
        #expect(said[1].hasSuffix("shard 2/2: 1 of 3 jobs: digits_cnn.m4-flash4kB"), "\(said[1])")
        let bad = try runProcess(try tinympqBinary(), ["run", w.path, "--shard", "3/2"])
        #expect(bad.status == 2 && bad.stderr.contains("--shard must be I/N"), "\(bad.stderr)")
    }
}

/// A tinympq process started now and waited for later (so two can run at once).
struct ShardProcess {
    let process = Process()
    let out: URL, err: URL
    let done = DispatchSemaphore(value: 0)

    init(_ executable: URL, _ arguments: [String]) throws {
        let dir = Fixtures.temporaryDirectory("shardproc")
        out = dir.appendingPathComponent("out")
        err = dir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        let sem = done
        process.terminationHandler = { _ in sem.signal() }
        try process.run()
    }

    func wait() -> (status: Int32, stdout: String, stderr: String) {
        if done.wait(timeout: .now() + 300) == .timedOut {
            process.terminate()
            done.wait()
        }
        return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}
