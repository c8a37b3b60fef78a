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
        // Unchanged: everything restored.
        #expect(try runProcess(try tinympqBinary(), args).status == 0)
        #expect(try stages(out).values.allSatisfy { $0["cached"] as? Bool == true })
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
        let again = try runProcess(changed, args, cwd: Fixtures.packageRoot)
        #expect(again.status == 0, "\(again.stderr)")
        let s2 = try stages(out)
        #expect(s2.count == 4 && s2.values.allSatisfy { $0["cached"] as? Bool == true }, "\(s2)")
    }
}
