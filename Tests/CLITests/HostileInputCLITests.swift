import Foundation
import TestSupport
import Testing

/// Issue 17's hostile data, file kinds and budgets through the one-shot `run`: each is a clear
/// error naming the file and the array or field, a non-zero exit, never a trap or a hang.
@Suite struct HostileInputCLITests {
    /// A folder with the tiny 2-class model as `m.onnx`.
    func folder() throws -> URL {
        let dir = Fixtures.temporaryDirectory("hostile")
        try FileManager.default.copyItem(at: Fixtures.url("hostile/tiny_cnn.onnx"), to: dir.appendingPathComponent("m.onnx"))
        return dir
    }

    func run(_ dir: URL, until: String = "validate", extra: [String] = []) throws -> ProcessResult {
        try runProcess(try tinympqBinary(), ["run", dir.appendingPathComponent("m.onnx").path, "--out", dir.appendingPathComponent("out").path,
                                             "--until", until, "--no-cache"] + extra, timeout: 120)
    }

    func report(_ dir: URL) -> [String: Any]? {
        guard let d = try? Data(contentsOf: dir.appendingPathComponent("out/m/report.json")) else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }

    func stageStatus(_ dir: URL, _ stage: String) -> String? {
        ((report(dir)?["stages"] as? [String: Any])?[stage] as? [String: Any])?["status"] as? String
    }

    @Test func goodDataPasses() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("hostile/ok.npz"), to: dir.appendingPathComponent("m.npz"))
        let r = try run(dir)
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test(arguments: [("x_neg_inf", "array 'x'", "-inf"), ("x_nan", "array 'x'", "NaN"), ("x_huge", "array 'x'", "3e+38"),
                      ("y_999", "array 'y'", "999"), ("y_negative", "array 'y'", "-1"), ("y_huge", "array 'y'", "4611686018427387904"),
                      ("y_float", "array 'y'", "floating-point")])
    func hostileDataIsANamedRefusal(data: String, array: String, value: String) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("hostile/\(data).npz"), to: dir.appendingPathComponent("m.npz"))
        let r = try run(dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.npz: \(array)") && r.stderr.contains(value), "\(r.stderr)")
        // Data is first read by the search stage (calibration); parse succeeded.
        #expect(stageStatus(dir, "parse") == "ok")
        #expect(stageStatus(dir, "search") == "failed")
    }

    /// Finite weights and inputs whose float activations overflow: refused after calibration,
    /// naming the data file and the node.
    @Test func activationsOverflowingOnTheDataAreANamedRefusal() throws {
        let dir = Fixtures.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("hostile/huge_weight.onnx"), to: dir.appendingPathComponent("m.onnx"))
        try FileManager.default.copyItem(at: Fixtures.url("hostile/x_large.npz"), to: dir.appendingPathComponent("m.npz"))
        let r = try run(dir)
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.npz: array 'x'") && r.stderr.contains("node 'relu0'") && r.stderr.contains("too large"), "\(r.stderr)")
        #expect(stageStatus(dir, "search") == "failed")
    }

    @Test func fifoAsDataIsRefusedNotWaitedOn() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(mkfifo(dir.appendingPathComponent("m.npz").path, 0o644) == 0)
        let r = try run(dir, until: "search")
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.npz") && r.stderr.contains("FIFO"), "\(r.stderr)")
    }

    @Test func fifoAsModelIsRefused() throws {
        let dir = Fixtures.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(mkfifo(dir.appendingPathComponent("m.onnx").path, 0o644) == 0)
        let r = try run(dir, until: "parse")
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.onnx") && r.stderr.contains("FIFO"), "\(r.stderr)")
    }

    @Test func devZeroAsDataIsRefused() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Given explicitly (a link named m.npz is refused earlier: it leaves the folder).
        let r = try run(dir, until: "search", extra: ["--data", "/dev/zero"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("zero: ") && r.stderr.contains("character device"), "\(r.stderr)")
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("m.npz").path, withDestinationPath: "/dev/zero")
        let r2 = try run(dir, until: "search")
        #expect(r2.status == 1)
        #expect(r2.stderr.contains("m.npz") && r2.stderr.contains("refused"), "\(r2.stderr)")
    }

    @Test func implicitDataLinkedOutOfTheFolderIsRefused() throws {
        let dir = try folder()
        let elsewhere = Fixtures.temporaryDirectory("elsewhere")
        defer {
            try? FileManager.default.removeItem(at: dir)
            try? FileManager.default.removeItem(at: elsewhere)
        }
        let target = elsewhere.appendingPathComponent("secret.npz")
        try FileManager.default.copyItem(at: Fixtures.url("hostile/ok.npz"), to: target)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("m.npz").path, withDestinationPath: target.path)
        let r = try run(dir, until: "search")
        #expect(r.status == 1)
        #expect(r.stderr.contains("m.npz") && r.stderr.contains("leaves the model's folder"), "\(r.stderr)")
    }

    @Test(arguments: [
        (#"{"flash": true, "ram": "512kB"}"#, "field 'flash'"),
        (#"{"flash": "2MB", "ram": 1.5}"#, "field 'ram'"),
        (#"{"flash": "2MB", "ram": "512kB", "search": {"repair": 1}}"#, "field 'search.repair'"),
        (#"{"flash": "2MB", "ram": "512kB", "weightBits": [2, true]}"#, "field 'weightBits'"),
        (#"{"flash": "2MB", "ram": "512kB", "ram": "1MB"}"#, "duplicate key 'ram'"),
        (#"{"flash": "2MB", "ram": "512kB", "search": {"seed": 1, "seed": 2}}"#, "field 'search.seed'"),
    ])
    func strictBudgetsNameTheField(json: String, fragment: String) throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(json.utf8).write(to: dir.appendingPathComponent("m.budget.json"))
        let r = try run(dir, until: "parse")
        #expect(r.status == 2)
        #expect(r.stderr.contains("m.budget.json") && r.stderr.contains(fragment), "\(r.stderr)")
    }
}
