import Foundation
import Graph
import Import
import TestSupport
import Testing

/// The TFLite ops of real exports (issue 12) against the TFLite interpreter, every output by
/// name (`generate_tflite.py --only tfl_real_ops,tfl_sparse`).
@Suite struct TFLiteRealOpsTests {
    func expected(_ model: String) throws -> [String: Tensor] {
        let npz = Fixtures.url(model + ".expected.npz")
        if FileManager.default.fileExists(atPath: npz.path) { return try NumPy.load(npz).mapValues(\.tensor) }
        return try NumPy.load(Fixtures.url(model + ".expected.npy")).mapValues(\.tensor)
    }

    @Test(arguments: ["tfl_real_ops", "tfl_sparse", "tfl_custom_tconv"])
    func everyOutputMatchesTheInterpreter(model: String) throws {
        let g = try ModelFile.load(Fixtures.url(model + ".tflite"))
        let x = try #require(NumPy.load(Fixtures.url(model + ".input.npy"))["x"]).tensor
        let want = try expected(model)
        let ys = try FloatEngine(graph: g, threads: 2).run(g.toLogical(x))
        #expect(ys.count == want.count)
        for (name, y) in zip(g.outputs, ys) {
            let w = try #require(want[name] ?? (want.count == 1 ? want.first?.value : nil), "no reference for output \(name)")
            let got = g.toExternal(y)
            #expect(got.shape == w.shape, "\(model) output \(name)")
            let err = relativeMaxError(got.data, w.data)
            #expect(err < 1e-4, "\(model) output \(name): relative error \(err)")
        }
    }

    @Test func headsKeepNHWCOrderAndFlattenFoldsIntoWeights() throws {
        let g = try ModelFile.load(Fixtures.url("tfl_real_ops.tflite"))
        // The [1, N, 4] head: transpose to NHWC, then reshape.
        #expect(g.nodes.contains { $0.name == "head0/box_reshape/to_nhwc" && $0.op == .transpose(perm: [0, 2, 3, 1]) })
        #expect(g.shape("boxes") == [1, 320, 4])
        // A flatten into FullyConnected keeps no transpose: the weight columns are permuted.
        let f16 = try ModelFile.load(Fixtures.url("mobilenet_v2_tfl_f16.tflite"))
        #expect(!f16.nodes.contains { if case .transpose = $0.op { return true } else { return false } })
    }

    @Test func densifiedWeightsAreSparse() throws {
        let g = try ModelFile.load(Fixtures.url("tfl_sparse.tflite"))
        let fc = try #require(g.nodes.first { $0.name == "fc_block" })
        let w = try #require(g.constants[fc.inputs[1]])
        #expect(w.shape == [6, 12])
        let zeros = w.data.filter { $0 == 0 }.count
        #expect(zeros > 0 && zeros < w.count)
        #expect(!g.nodes.contains { $0.name.contains("w_sparse") })
    }
}
