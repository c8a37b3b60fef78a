import Foundation
import Graph
import Import
import TestSupport
import Testing

/// The ops of real exports (issue 12), float engine against onnxruntime on small fixtures
/// (`generate.py --only ...`), every output compared by name. Tolerance as in
/// `OnnxFixtureTests`: 1e-4 of the largest reference value.
@Suite struct RealOpsTests {
    static let models = ["real_ops", "resample_ops", "upsample_opset9", "ssd_head"]

    @Test(arguments: models)
    func everyOutputMatchesOnnxRuntime(model: String) throws {
        let graph = try OnnxImporter.load(Fixtures.url(model + ".onnx"))
        let x = try #require(NumPy.load(Fixtures.url(model + ".input.npy"))["x"]).tensor
        let expected = try NumPy.load(Fixtures.url(model + ".expected.npz"))
        let y = try FloatEngine(graph: graph, threads: 2).run(x)
        #expect(y.count == expected.count)
        #expect(Set(graph.outputs) == Set(expected.keys))
        for (name, t) in zip(graph.outputs, y) {
            let want = try #require(expected[name]).tensor
            #expect(t.shape == want.shape, "\(model) output \(name)")
            let err = relativeMaxError(t.data, want.data)
            #expect(err <= 1e-4, "\(model) output \(name): relative error \(err)")
        }
    }

    @Test func decomposedActivationsAreFused() throws {
        let g = try OnnxImporter.load(Fixtures.url("real_ops.onnx"))
        let names = g.nodes.map(\.op.name)
        // x * clip(x + 3, 0, 6) / 6 with Constant nodes → HardSwish; x * sigmoid(x) → SiLU.
        #expect(names.contains("HardSwish"))
        #expect(names.contains("SiLU"))
        #expect(g.nodes.contains { if case .elementwise = $0.op { return true } else { return false } })
        #expect(names.contains("PRelu") && names.contains("Sub"))
        // No arithmetic with a scalar or per-channel constant is left, and the per-channel
        // Mul/Sub after /c2 folded into it.
        for n in g.nodes {
            switch n.op {
            case .add, .sub, .mul, .div: #expect(n.inputs.allSatisfy { g.constants[$0] == nil }, "\(n.name) still has a constant operand")
            default: break
            }
        }
        #expect(!g.nodes.contains { $0.name.hasPrefix("/pc/mul") || $0.name.hasPrefix("/pc/sub") })
    }

    @Test func scalarFunctionsEvaluateAndName() {
        let hs = ScalarFunction.x * .clip(.x + .constant(3), 0, 6) / .constant(6)
        #expect(hs(3) == 3 && hs(-4) == 0 && abs(hs(1) - 1 * 4 / 6) < 1e-6)
        #expect(Op.elementwise(hs).name == "HardSwish")
        #expect(Op.elementwise(.leakyRelu(0.1)).name == "Elementwise")
        #expect(ScalarFunction.leakyRelu(0.1)(-2) == -0.2)
        #expect(!ScalarFunction.leakyRelu(0.1).isNonNegative)
        #expect(ScalarFunction.unary(.sigmoid, .x).isNonNegative)
        var data: [Float] = [-2, 0, 2]
        hs.apply(&data)
        #expect(data == [-2, 0, 2].map { hs($0) })
    }
}
