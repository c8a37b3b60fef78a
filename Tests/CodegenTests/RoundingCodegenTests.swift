import Codegen
import Footprint
import Foundation
import Graph
import Import
import Quantize
import TestSupport
import Testing

/// Hessian rounding only changes which integer codes are chosen: the generated C stays
/// bit-exact with the Swift engine.
@Suite struct RoundingCodegenTests {
    @Test(arguments: ["mobilenet_v2_035_32"])
    func hessianRoundedFixtureIsBitExactOnTheHost(model name: String) throws {
        let g = try OnnxImporter.load(Fixtures.url(name + ".onnx"))
        let cal = try #require(NumPy.load(Fixtures.url("digits32.npz"))["x"]).tensor
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: false)
        let t = Quantizer.policyTargets(g)
        var p = Policy(defaultWeightBits: 4, defaultActivationBits: 8)
        for (i, w) in t.weights.enumerated() { p.weightBits[w] = [2, 4, 8][i % 3] }
        let rounded = try HessianRounding.round(graph: g, policy: p, hessians: try LayerHessians.collect(graph: g, inputs: cal))
        let model = try Quantizer.quantize(graph: g, policy: p, stats: stats, options: .init(weights: rounded))
        let plain = try Quantizer.quantize(graph: g, policy: p, stats: stats)
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        #expect(try e.encode(model) != e.encode(plain), "the rounding changed no code")
        let (exact, output) = try CodegenTests().hostBitExact(model, input: cal.item(0), name: "rounded", graph: g)
        #expect(exact, "\(output)")
    }
}
