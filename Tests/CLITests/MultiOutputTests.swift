import Foundation
import TestSupport
import Testing

/// A model with two outputs (class logits and landmarks) through parse, search, quantize and
/// validate: validation judges each output by name.
@Suite struct MultiOutputTests {
    @Test func validationJudgesEveryOutput() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("two_outputs.onnx"), to: dir.appendingPathComponent("two_outputs.onnx"))
        // The fixture's input batch doubles as calibration data (array x).
        try FileManager.default.copyItem(at: Fixtures.url("two_outputs.input.npy"), to: dir.appendingPathComponent("two_outputs.npy"))
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path, "--until", "validate", "--bits", "8"])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: out.appendingPathComponent("two_outputs/report.json"))
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let v = try #require(report["validation"] as? [String: Any])
        let outputs = try #require(v["outputs"] as? [[String: Any]])
        #expect(outputs.map { $0["name"] as? String } == ["classes", "landmarks"])
        #expect(outputs.map { $0["kind"] as? String } == ["classes", "values"])
        // The top-level figures are the first output's.
        #expect(outputs[0]["top1Agreement"] as? Double == v["top1Agreement"] as? Double)
        #expect(outputs[1]["top1Agreement"] == nil)
        for o in outputs {
            #expect((o["sqnrDB"] as? Double ?? 0) > 15, "\(o)")
            #expect(o["maxAbsError"] is Double)
        }
        let md = try String(contentsOf: out.appendingPathComponent("two_outputs/report.md"), encoding: .utf8)
        #expect(md.contains("| `landmarks` |"))
    }
}
