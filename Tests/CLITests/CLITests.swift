import Foundation
import TestSupport
import Testing

/// The `tinympq` binary as users and CI call it.
@Suite struct CLITests {
    @Test func helpIsPrinted() throws {
        let bin = try tinympqBinary()
        let main = try runProcess(bin, ["--help"])
        #expect(main.status == 0)
        #expect(main.stdout.contains("USAGE: tinympq <command>"))
        let run = try runProcess(bin, ["run", "--help"])
        #expect(run.status == 0)
        #expect(run.stdout.contains("--out DIR"))
        let infer = try runProcess(bin, ["infer", "--help"])
        #expect(infer.stdout.contains("--input FILE"))
    }

    @Test func usageErrorsExitTwo() throws {
        let bin = try tinympqBinary()
        let r = try runProcess(bin, ["frobnicate"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown command 'frobnicate'"))
        let r2 = try runProcess(bin, ["run", "--bogus"])
        #expect(r2.status == 2)
    }

    @Test func noModelsExitsFour() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 4)
        #expect(r.stderr.contains("no models"))
    }

    @Test func runWritesParseOutputsForEveryFixture() throws {
        let out = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let models = Fixtures.models.map { Fixtures.url($0 + ".onnx").path }
        let r = try runProcess(try tinympqBinary(), ["run"] + models + ["--out", out.path, "--until", "parse"])
        #expect(r.status == 0, "\(r.stderr)")
        for m in Fixtures.models {
            let folder = out.appendingPathComponent(m)
            let graph = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("graph.json"))) as? [String: Any]
            let nodes = graph?["nodes"] as? [[String: Any]]
            #expect((nodes?.count ?? 0) > 0, "\(m): graph.json has nodes")
            let report = try String(contentsOf: folder.appendingPathComponent("report.md"), encoding: .utf8)
            #expect(report.contains("## Model"))
            let log = try String(contentsOf: folder.appendingPathComponent("logs/01-parse.log"), encoding: .utf8)
            #expect(log.contains("[parse] finished in"))
        }
        // No staging folders are left behind.
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test func corruptModelFailsWithAReportAndOthersStillRun() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([0x08, 0x07, 0x3a, 0x10, 0x01]).write(to: dir.appendingPathComponent("broken.onnx"))
        try FileManager.default.copyItem(at: Fixtures.url("ops_zoo.onnx"), to: dir.appendingPathComponent("good.onnx"))
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path])
        #expect(r.status == 1)
        #expect(r.stderr.contains("broken.onnx"))
        let report = try String(contentsOf: out.appendingPathComponent("broken/report.md"), encoding: .utf8)
        #expect(report.contains("FAILED") && report.contains("broken.onnx"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("broken/report.json"))) as? [String: Any]
        #expect((json?["stages"] as? [String: Any])?["parse"] != nil)
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("good/graph.json").path))
    }

    @Test func inferMatchesOnnxRuntime() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = dir.appendingPathComponent("y.npy")
        let r = try runProcess(try tinympqBinary(), ["infer", Fixtures.url("mobilenet_v2_035_32.onnx").path,
                                                     "--input", Fixtures.url("mobilenet_v2_035_32.input.npy").path, "--output", y.path])
        #expect(r.status == 0, "\(r.stderr)")
        let ours = try NumPyFile.floats(y)
        let ref = try NumPyFile.floats(Fixtures.url("mobilenet_v2_035_32.expected.npy"))
        #expect(ours.count == ref.count)
        #expect(relativeMaxError(ours, ref) <= 1e-4)
    }

    @Test func inferRejectsMismatchedData() throws {
        let r = try runProcess(try tinympqBinary(), ["infer", Fixtures.url("mobilenet_v2_035_32.onnx").path,
                                                     "--input", Fixtures.url("ops_zoo.input.npy").path, "--output", "/dev/null"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("ops_zoo.input.npy") && r.stderr.contains("expects"))
    }
}
