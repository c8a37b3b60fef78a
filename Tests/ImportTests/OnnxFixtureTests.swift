import Foundation
import Graph
import Import
import TestSupport
import Testing

/// Our float engine against onnxruntime on every committed fixture.
///
/// Tolerance: max |ours − onnxruntime| ≤ 1e-4 · max |onnxruntime| over the whole output batch.
/// Both compute in float32 but sum in different orders (GEMM blocking, BatchNorm folded into the
/// weights here, not there), so bit equality is not expected; 1e-4 relative is two orders of
/// magnitude above the float32 rounding noise seen over ~20 layers and far below any real bug.
@Suite struct OnnxFixtureTests {
    @Test(arguments: Fixtures.models, [1, 2])
    func floatEngineMatchesOnnxRuntime(model: String, threads: Int) throws {
        let graph = try OnnxImporter.load(Fixtures.url(model + ".onnx"))
        let x = try #require(NumPy.load(Fixtures.url(model + ".input.npy"))["x"]).tensor
        let expected = try #require(NumPy.load(Fixtures.url(model + ".expected.npy"))["x"]).tensor
        let engine = try FloatEngine(graph: graph, threads: threads)
        let y = try engine.run(x)
        #expect(y.count == 1)
        #expect(y[0].shape == expected.shape)
        let err = relativeMaxError(y[0].data, expected.data)
        #expect(err <= 1e-4, "\(model): relative error \(err)")
    }

    @Test func batchNormIsFoldedAndIdentitiesRemoved() throws {
        let g = try OnnxImporter.load(Fixtures.url("mobilenet_v2_035_32.onnx"))
        let ops = Set(g.nodes.map(\.op.name))
        #expect(!ops.contains("BatchNorm"))
        #expect(ops.isSuperset(of: ["Conv", "GroupConv", "Relu6", "Add", "GlobalAveragePool", "Reshape", "FullyConnected"]))
        // Shape/Gather/Unsqueeze/Concat folded into one static reshape.
        let reshape = try #require(g.nodes.first { $0.op.name == "Reshape" })
        #expect(g.shape(reshape.output) == [1, 1280])
        #expect(g.shape(g.inputs[0]) == [1, 3, 32, 32])
    }

    @Test func unfoldableBatchNormStays() throws {
        let g = try OnnxImporter.load(Fixtures.url("ops_zoo.onnx"))
        // The lone BatchNorm, and the per-channel Mul, scalar Div and per-channel Add after the
        // HardSwish merged into one affine op.
        #expect(g.nodes.filter { $0.op == .batchNorm }.count == 2)
        #expect(!g.nodes.contains { [.mul, .div, .add].contains($0.op) })
    }

    @Test func statsCountMacsAndParams() throws {
        let g = try OnnxImporter.load(Fixtures.url("legacy_opset10.onnx"))
        let s = g.stats()
        let conv0 = try #require(s.first { $0.name == "/c0/Conv" })
        // 3→8 channels, 3x3, 16x16 output: 8·16·16·3·9 MACs; 8·3·9 weights + 8 folded biases.
        #expect(conv0.macs == 8 * 16 * 16 * 3 * 9)
        #expect(conv0.params == 8 * 3 * 9 + 8)
        #expect(conv0.outputShape == [1, 8, 16, 16])
    }
}
