import Foundation
import Graph
import Import
import TestSupport
import Testing

/// `tinympq infer` on models with several outputs and with free input dimensions.
@Suite struct InferOutputsTests {
    @Test func everyOutputIsWrittenByName() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = dir.appendingPathComponent("y.npz")
        let r = try runProcess(try tinympqBinary(), ["infer", Fixtures.url("ssd_head.onnx").path, "--input",
                                                     Fixtures.url("ssd_head.input.npy").path, "--output", y.path])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try NumPy.load(y)
        let want = try NumPy.load(Fixtures.url("ssd_head.expected.npz"))
        #expect(Set(got.keys) == ["boxes", "scores"])
        for (name, w) in want {
            let g = try #require(got[name])
            #expect(g.shape == w.shape)
            #expect(relativeMaxError(g.floats, w.floats) <= 1e-4, "\(name)")
        }
    }

    @Test func dataFixesFreeDimensions() throws {
        // [-1, 3, h, w]: without data or inputShape the importer names the dimension …
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("free_dims.onnx"))
        } throws: { e in "\(e)".contains("free dimension 'h'") && "\(e)".contains("give data") }
        // … the data's shape fixes it, and the budget's inputShape still wins.
        #expect(try OnnxImporter.load(Fixtures.url("free_dims.onnx"), dataShape: [5, 3, 7, 9]).shape("input") == [1, 3, 7, 9])
        #expect(try OnnxImporter.load(Fixtures.url("free_dims.onnx"), inputShape: [1, 3, 12, 12], dataShape: [5, 3, 7, 9]).shape("input") == [1, 3, 12, 12])
        // infer needs no option.
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let y = dir.appendingPathComponent("y.npy")
        let r = try runProcess(try tinympqBinary(), ["infer", Fixtures.url("free_dims.onnx").path, "--input",
                                                     Fixtures.url("free_dims.input.npy").path, "--output", y.path])
        #expect(r.status == 0, "\(r.stderr)")
        let got = try #require(NumPy.load(y)["x"])
        let want = try #require(NumPy.load(Fixtures.url("free_dims.expected.npz"))["output"])
        #expect(got.shape == want.shape && relativeMaxError(got.floats, want.floats) <= 1e-4)
    }
}
