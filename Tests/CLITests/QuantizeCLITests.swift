import Foundation
import TestSupport
import Testing

/// `tinympq run` through quantize and validate, on the trained digits example.
@Suite struct QuantizeCLITests {
    /// A temporary folder holding a copy of the digits model (and, optionally, its data).
    func digitsFolder(data: Bool = true) throws -> URL {
        let dir = Fixtures.temporaryDirectory()
        let watched = Fixtures.packageRoot.appendingPathComponent("watched")
        var files = ["digits_cnn.onnx"]
        if data { files += ["digits_cnn.npz", "digits_cnn.val.npz"] }
        for f in files { try FileManager.default.copyItem(at: watched.appendingPathComponent(f), to: dir.appendingPathComponent(f)) }
        return dir
    }

    func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }

    @Test func fullRunWritesQuantizedModelAndValidation() throws {
        let dir = try digitsFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let folder = out.appendingPathComponent("digits_cnn")
        let report = try json(folder.appendingPathComponent("report.json"))
        let v = try #require(report["validation"] as? [String: Any])
        #expect((v["accuracyFloat"] as? Double ?? 0) > 90)
        #expect((v["top1Agreement"] as? Double ?? 0) >= 99)
        #expect((v["meanKL"] as? Double ?? 1) <= 0.01)
        #expect(v["biasCorrection"] != nil)
        let stages = try #require(report["stages"] as? [String: Any])
        #expect(Set(stages.keys) == ["parse", "search", "quantize", "validate", "codegen"])
        let codegen = try #require(report["codegen"] as? [String: Any])
        #expect(codegen["hostBitExact"] as? Bool == true)
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("c/Makefile").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("report.html").path))
        for log in ["01-parse", "02-search", "03-quantize", "04-validate", "05-codegen"] {
            #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("logs/\(log).log").path))
        }
        // infer --quantized runs the integer engine from the published quantized.json.
        let y = dir.appendingPathComponent("yq.npy")
        let inf = try runProcess(try tinympqBinary(), ["infer", dir.appendingPathComponent("digits_cnn.onnx").path, "--input",
                                                       dir.appendingPathComponent("digits_cnn.val.npz").path, "--output", y.path,
                                                       "--quantized", folder.path])
        #expect(inf.status == 0, "\(inf.stderr)")
        #expect(try NumPyFile.floats(y).count == 360 * 10)
    }

    @Test func accuracyGateFailsWithExitThree() throws {
        let dir = try digitsFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path, "--bits", "2", "--max-accuracy-drop", "1"])
        #expect(r.status == 3)
        let report = try String(contentsOf: out.appendingPathComponent("digits_cnn/report.md"), encoding: .utf8)
        #expect(report.contains("accuracy gate (max drop 1.0 points): **FAILED**"))
    }

    @Test func withoutDataNoAccuracyIsClaimed() throws {
        let dir = try digitsFolder(data: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let v = try #require(try json(out.appendingPathComponent("digits_cnn/report.json"))["validation"] as? [String: Any])
        #expect(v["accuracyFloat"] == nil && v["accuracyQuantized"] == nil)
        #expect(v["synthetic"] as? Bool == true)
        let md = try String(contentsOf: out.appendingPathComponent("digits_cnn/report.md"), encoding: .utf8)
        #expect(md.contains("NO DATA"))
    }

    @Test func badPolicyNamesFileAndField() throws {
        let dir = try digitsFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("p.json")
        try Data(#"{"activationBits": {"no_such_tensor": 4}}"#.utf8).write(to: policy)
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path, "--policy", policy.path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("p.json") && r.stderr.contains("activationBits.no_such_tensor"))
        try Data(#"{"weightBits": {"/features/0/Conv": 3}}"#.utf8).write(to: policy)
        let r2 = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path, "--policy", policy.path])
        #expect(r2.status == 2)
        #expect(r2.stderr.contains("weightBits./features/0/Conv") && r2.stderr.contains("3 bits is not one of 2, 4, 8"))
        try Data(#"{"bitz": 4}"#.utf8).write(to: policy)
        let r3 = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path, "--policy", policy.path])
        #expect(r3.status == 2 && r3.stderr.contains("field 'bitz'"))
    }

    @Test func dataOfTheWrongShapeIsNamed() throws {
        let dir = try digitsFolder(data: false)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("ops_zoo.input.npy"), to: dir.appendingPathComponent("digits_cnn.npy"))
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("digits_cnn.npy") && r.stderr.contains("array 'x'") && r.stderr.contains("expects"))
    }

    @Test func opWithoutIntegerKernelIsNamed() throws {
        let out = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try runProcess(try tinympqBinary(), ["run", Fixtures.url("ops_zoo.onnx").path, "--out", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("node '/avgpool/AveragePool' (AveragePool)") && r.stderr.contains("no integer implementation"))
        let json = try json(out.appendingPathComponent("ops_zoo/report.json"))
        let search = (json["stages"] as? [String: Any])?["search"] as? [String: Any]
        #expect(search?["status"] as? String == "failed")
        #expect((json["error"] as? String ?? "").contains("/avgpool/AveragePool"))
    }
}
