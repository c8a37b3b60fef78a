import Foundation
import TestSupport
import Testing

/// The budget's `rounding` through the whole pipeline.
@Suite struct RoundingCLITests {
    func folder(budget: String) throws -> URL {
        let dir = Fixtures.temporaryDirectory()
        let watched = Fixtures.packageRoot.appendingPathComponent("watched")
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz"] {
            try FileManager.default.copyItem(at: watched.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        try Data(budget.utf8).write(to: dir.appendingPathComponent("digits_cnn.budget.json"))
        return dir
    }

    func run(_ dir: URL, _ out: String) throws -> (status: Int32, stderr: String, quantized: Data, quantizeLog: String, searchLog: String) {
        let o = dir.appendingPathComponent(out)
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", o.path, "--cache", dir.appendingPathComponent("cache-" + out).path, "--until", "validate"])
        let m = o.appendingPathComponent("digits_cnn")
        return (r.status, r.stderr, (try? Data(contentsOf: m.appendingPathComponent("quantized.json"))) ?? Data(),
                (try? String(contentsOf: m.appendingPathComponent("logs/03-quantize.log"), encoding: .utf8)) ?? "",
                (try? String(contentsOf: m.appendingPathComponent("logs/02-search.log"), encoding: .utf8)) ?? "")
    }

    /// W4A8 by `uniform` with weights [4] and activations [8]; the hessian rounding gives other
    /// codes than nearest, and the same bytes on a second run without the cache.
    @Test func hessianRoundingIsDeterministicAndChangesTheCodes() throws {
        let budget = #"{"flash": "2MB", "ram": "512kB", "weightBits": [4], "activationBits": [8], "search": {"method": "uniform"}, "rounding": "ROUNDING"}"#
        let h = try folder(budget: budget.replacingOccurrences(of: "ROUNDING", with: "hessian"))
        let n = try folder(budget: budget.replacingOccurrences(of: "ROUNDING", with: "nearest"))
        defer {
            try? FileManager.default.removeItem(at: h)
            try? FileManager.default.removeItem(at: n)
        }
        let a = try run(h, "a"), b = try run(h, "b"), c = try run(n, "c")
        #expect(a.status == 0 && b.status == 0 && c.status == 0, "\(a.stderr) \(b.stderr) \(c.stderr)")
        #expect(a.searchLog.contains("uniform W4A8"), "\(a.searchLog)")
        #expect(a.quantizeLog.contains("weight rounding: hessian") && a.quantizeLog.contains("hessian rounding of"))
        #expect(c.quantizeLog.contains("weight rounding: nearest"))
        #expect(!a.quantized.isEmpty && a.quantized == b.quantized)
        #expect(a.quantized != c.quantized)
    }

    @Test func anUnknownRoundingNamesTheField() throws {
        let dir = try folder(budget: #"{"flash": "2MB", "ram": "512kB", "rounding": "stochastic"}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("digits_cnn.budget.json") && r.stderr.contains("field 'rounding'") && r.stderr.contains("'hessian'"), "\(r.stderr)")
    }
}
