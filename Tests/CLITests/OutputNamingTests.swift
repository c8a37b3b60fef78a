import Foundation
import TestSupport
import Testing

/// One output folder per model file: files that would share one are an error naming both,
/// never an overwrite; `run` finds models in subfolders as the watcher does.
@Suite struct OutputNamingTests {
    let model = Fixtures.packageRoot.appendingPathComponent("watched/digits_cnn.onnx")

    func place(_ files: [String], in dir: URL) throws {
        for f in files {
            let u = dir.appendingPathComponent(f)
            try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: model, to: u)
        }
    }

    func source(_ folder: URL) throws -> String? {
        let m = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("manifest.json"))) as? [String: Any]
        return m?["source"] as? String
    }

    @Test func sameStemInTwoSubfoldersIsAnErrorNamingBoth() throws {
        let dir = Fixtures.temporaryDirectory("naming")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out")
        try place(["a/m.onnx", "b/m.onnx", "c/other.onnx"], in: w)
        let r = try runProcess(try tinympqBinary(), ["run", w.path, "--out", out.path, "--until", "parse", "--no-cache"], cwd: Fixtures.packageRoot)
        #expect(r.status == 2, "\(r.stderr)")
        #expect(r.stderr.contains("a/m.onnx") && r.stderr.contains("b/m.onnx"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("m").path))
        // The subfolder's other model is found and processed.
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("other/graph.json").path))
    }

    @Test(arguments: [("a/m.onnx", "b/m.onnx"), ("m.onnx", "m.tflite"), ("a b.onnx", "a_b.onnx")])
    func aLaterRunDoesNotReplaceAnotherFilesFolder(first: String, second: String) throws {
        let dir = Fixtures.temporaryDirectory("naming")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w"), out = dir.appendingPathComponent("out")
        try place([first, second], in: w)
        let one = w.appendingPathComponent(first), two = w.appendingPathComponent(second)
        let name = first == "a b.onnx" ? "a_b" : "m"
        // The .tflite copy holds ONNX bytes: it never gets as far as parsing, the check comes first.
        let r1 = try runProcess(try tinympqBinary(), ["run", one.path, "--out", out.path, "--until", "parse", "--no-cache"], cwd: Fixtures.packageRoot)
        #expect(r1.status == 0, "\(r1.stderr)")
        let before = try Data(contentsOf: out.appendingPathComponent("\(name)/manifest.json"))
        let r2 = try runProcess(try tinympqBinary(), ["run", two.path, "--out", out.path, "--until", "parse", "--no-cache"], cwd: Fixtures.packageRoot)
        #expect(r2.status == 2)
        #expect(r2.stderr.contains(one.lastPathComponent) && r2.stderr.contains(two.lastPathComponent), "\(r2.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("\(name)/manifest.json")) == before)
        // Once the first file is gone, its name is free again.
        try FileManager.default.removeItem(at: one)
        let r3 = try runProcess(try tinympqBinary(), ["run", two.path, "--out", out.path, "--until", "parse", "--no-cache"], cwd: Fixtures.packageRoot)
        #expect(try source(out.appendingPathComponent(name))?.hasSuffix(second) == true, "\(r3.stderr)")
    }
}
