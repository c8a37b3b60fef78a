import Foundation
import TestSupport
import Testing

/// The cache: reruns only what changed, survives damage.
@Suite struct CacheTests {
    func digits() throws -> URL {
        let dir = Fixtures.temporaryDirectory("cache")
        let w = dir.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: w, withIntermediateDirectories: true)
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz", "digits_cnn.budget.json"] {
            try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("watched/\(f)"), to: w.appendingPathComponent(f))
        }
        return dir
    }

    func stages(_ out: URL) throws -> [String: [String: Any]] {
        let r = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("digits_cnn/report.json"))) as? [String: Any]
        return r?["stages"] as? [String: [String: Any]] ?? [:]
    }

    @Test func damagedEntryIsRecomputedAndDataChangeRerunsFromSearch() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out"), cache = dir.appendingPathComponent("cache")
        let args = ["run", w.path, "--out", out.path, "--cache", cache.path, "--until", "validate"]
        #expect(try runProcess(try tinympqBinary(), args).status == 0)
        // Damage every stored blob: each is detected by its digest and the stages run again.
        let objects = cache.appendingPathComponent("objects")
        for case let u as URL in FileManager.default.enumerator(at: objects, includingPropertiesForKeys: nil)! where !u.hasDirectoryPath {
            try Data("garbage".utf8).write(to: u)
        }
        let r = try runProcess(try tinympqBinary(), args)
        #expect(r.status == 0, "\(r.stderr)")
        let s = try stages(out)
        #expect(s.values.allSatisfy { $0["cached"] as? Bool == false })
        let log = try String(contentsOf: out.appendingPathComponent("digits_cnn/logs/02-search.log"), encoding: .utf8)
        #expect(log.contains("the cached result was missing or damaged"))
        // Unchanged: everything restored, so the folder is not published again.
        let same = try runProcess(try tinympqBinary(), args)
        #expect(same.status == 0 && same.stdout.contains("(unchanged, not published again)"), "\(same.stdout)")
        #expect(try stages(out).values.allSatisfy { $0["cached"] as? Bool == false })
        // A budget edit re-searches but reuses the sensitivity table (its own cache key).
        let budget = w.appendingPathComponent("digits_cnn.budget.json")
        try String(contentsOf: budget, encoding: .utf8).replacingOccurrences(of: "\"ram\": 1200", with: "\"ram\": 1100")
            .write(to: budget, atomically: true, encoding: .utf8)
        #expect(try runProcess(try tinympqBinary(), args).status == 0)
        let edited = try String(contentsOf: out.appendingPathComponent("digits_cnn/logs/02-search.log"), encoding: .utf8)
        #expect(edited.contains("changed: the budget") && edited.contains("sensitivity restored from cache"), "\(edited)")
        // New calibration data: parse stays cached, search and later rerun.
        let npz = w.appendingPathComponent("digits_cnn.npz")
        try FileManager.default.removeItem(at: npz)
        try FileManager.default.copyItem(at: w.appendingPathComponent("digits_cnn.val.npz"), to: npz)
        #expect(try runProcess(try tinympqBinary(), args).status == 0)
        let s2 = try stages(out)
        #expect(s2["parse"]?["cached"] as? Bool == true)
        #expect(s2["search"]?["cached"] as? Bool == false)
        let log2 = try String(contentsOf: out.appendingPathComponent("digits_cnn/logs/02-search.log"), encoding: .utf8)
        #expect(log2.contains("changed: the calibration data"))
    }

    @Test func explainSaysWhatWouldRun() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out")
        let before = try runProcess(try tinympqBinary(), ["explain", w.path, "--out", out.path])
        #expect(before.status == 0)
        #expect(before.stdout.contains("parse: would run (no earlier run for this output)"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("digits_cnn").path))
        #expect(try runProcess(try tinympqBinary(), ["run", w.path, "--out", out.path, "--until", "search"]).status == 0)
        let after = try runProcess(try tinympqBinary(), ["explain", w.path, "--out", out.path, "--until", "search"])
        #expect(after.stdout.contains("parse: cached") && after.stdout.contains("search: cached"), "\(after.stdout)")
    }

    /// Cache keys follow the code: a binary that differs by one byte restores nothing the
    /// original stored, and the same binary restores everything.
    @Test func changedExecutableRestoresNothing() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out"), cache = dir.appendingPathComponent("cache")
        let original = try tinympqBinary()
        var bytes = try Data(contentsOf: original)
        bytes.append(0)
        let changed = dir.appendingPathComponent("tinympq-changed")
        try bytes.write(to: changed)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: changed.path)
        let args = ["run", w.path, "--out", out.path, "--cache", cache.path, "--until", "validate"]
        let first = try runProcess(original, args, cwd: Fixtures.packageRoot)
        #expect(first.status == 0, "\(first.stderr)")
        let other = try runProcess(changed, args, cwd: Fixtures.packageRoot)
        #expect(other.status == 0, "\(other.stderr)")
        let s = try stages(out)
        #expect(s.count == 4 && s.values.allSatisfy { $0["cached"] as? Bool == false }, "\(s)")
        let search = try String(contentsOf: out.appendingPathComponent("digits_cnn/logs/02-search.log"), encoding: .utf8)
        #expect(search.contains("changed: the tool (its executable)") && !search.contains("sensitivity restored from cache"), "\(search)")
        // The same binary again restores everything: unchanged, so not even published again.
        let again = try runProcess(changed, args, cwd: Fixtures.packageRoot)
        #expect(again.status == 0 && again.stdout.contains("(unchanged, not published again)"), "\(again.stdout)")
        let explain = try runProcess(changed, ["explain"] + args.dropFirst(), cwd: Fixtures.packageRoot)
        #expect(["parse", "search", "quantize", "validate"].allSatisfy { explain.stdout.contains("\($0): cached") }, "\(explain.stdout)")
    }

    /// The same model bytes under a second name: the restored or rebuilt C carries the new
    /// name (issue 17), and codegen builds only the budget's target (cortex-m4 here).
    @Test func codegenCarriesItsOwnModelNameAndOnlyTheBudgetsTarget() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out"), cache = dir.appendingPathComponent("cache")
        let fm = FileManager.default
        try fm.moveItem(at: w.appendingPathComponent("digits_cnn.budget.json"), to: w.appendingPathComponent("budget.json"))
        try fm.moveItem(at: w.appendingPathComponent("digits_cnn.onnx"), to: w.appendingPathComponent("alpha.onnx"))
        let args = ["run", w.path, "--out", out.path, "--cache", cache.path]
        let r1 = try runProcess(try tinympqBinary(), args, cwd: Fixtures.packageRoot)
        #expect(r1.status == 0, "\(r1.stdout)\(r1.stderr)")
        try fm.moveItem(at: w.appendingPathComponent("alpha.onnx"), to: w.appendingPathComponent("beta.onnx"))
        let r2 = try runProcess(try tinympqBinary(), args, cwd: Fixtures.packageRoot)
        #expect(r2.status == 0, "\(r2.stdout)\(r2.stderr)")
        let c = out.appendingPathComponent("beta/c")
        #expect(fm.fileExists(atPath: c.appendingPathComponent("include/beta.h").path))
        #expect(!fm.fileExists(atPath: c.appendingPathComponent("include/alpha.h").path))
        let source = try String(contentsOf: c.appendingPathComponent("src/beta.c"), encoding: .utf8)
        #expect(source.contains("beta_run") && !source.contains("alpha"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("beta/report.json"))) as? [String: Any]
        let targets = (report?["codegen"] as? [String: Any])?["targets"] as? [String: Any]
        #expect(targets.map { Array($0.keys) } == ["cortex-m4"], "\(String(describing: targets))")
        // Parse to validate are restored: only the name-dependent stage reran.
        let stages = report?["stages"] as? [String: [String: Any]] ?? [:]
        #expect(stages["validate"]?["cached"] as? Bool == true && stages["codegen"]?["cached"] as? Bool == false, "\(stages)")
    }

    /// Seeded search: two runs of the same inputs into separate caches give the same bytes.
    @Test func twoRunsIntoSeparateCachesGiveIdenticalResults() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w")
        var outputs: [URL] = []
        for i in 0..<2 {
            let out = dir.appendingPathComponent("out\(i)")
            let r = try runProcess(try tinympqBinary(), ["run", w.path, "--out", out.path, "--cache", dir.appendingPathComponent("cache\(i)").path,
                                                         "--until", "validate"], cwd: Fixtures.packageRoot)
            #expect(r.status == 0, "\(r.stderr)")
            outputs.append(out.appendingPathComponent("digits_cnn"))
        }
        for f in ["policy.json", "quantized.json", "sensitivity.json", "validation.json"] {
            #expect(try Data(contentsOf: outputs[0].appendingPathComponent(f)) == Data(contentsOf: outputs[1].appendingPathComponent(f)), "\(f)")
        }
        // report.json's search fields, without the searchers' wall-clock seconds.
        func search(_ folder: URL) throws -> Data {
            let r = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any]
            var s = r?["search"] as? [String: Any] ?? [:]
            s["comparison"] = (s["comparison"] as? [[String: Any]])?.map { $0.filter { $0.key != "seconds" } }
            return try JSONSerialization.data(withJSONObject: s, options: [.sortedKeys])
        }
        let s0 = try search(outputs[0])
        #expect(s0.count > 100)
        #expect(try s0 == search(outputs[1]), "\(String(decoding: s0, as: UTF8.self))")
    }

    /// Other targets on request: both Cortex-M targets are built and run (in parallel), each
    /// bit-exact, and the restored result is the same.
    @Test(.enabled(if: InstalledTools.armQEMU, Comment(rawValue: InstalledTools.armQEMUMissing)))
    func severalTargetsOnRequest() throws {
        let dir = try digits()
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out")
        let args = ["run", w.path, "--out", out.path, "--cache", dir.appendingPathComponent("cache").path, "--targets", "all"]
        let r = try runProcess(try tinympqBinary(), args, cwd: Fixtures.packageRoot)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("digits_cnn/report.json"))) as? [String: Any]
        let targets = (report?["codegen"] as? [String: Any])?["targets"] as? [String: [String: String]] ?? [:]
        #expect(targets.keys.sorted() == ["cortex-m4", "cortex-m7"])
        #expect(targets.values.allSatisfy { $0["ran"] == "true" && $0["bitExact"] == "true" }, "\(targets)")
        let bad = try runProcess(try tinympqBinary(), args.dropLast() + ["cortex-m9"], cwd: Fixtures.packageRoot)
        #expect(bad.status == 2 && bad.stderr.contains("cortex-m9"), "\(bad.stderr)")
    }
}
