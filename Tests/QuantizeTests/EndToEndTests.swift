import Foundation
import Graph
import Import
import Quantize
import TestSupport
import Testing

/// Whole models through calibrate → quantize → integer engine, measured against float.
@Suite struct EndToEndTests {
    static let digits = Fixtures.packageRoot.appendingPathComponent("watched")

    func digitsData() throws -> (Graph, Tensor, Tensor, [Int64]) {
        let g = try OnnxImporter.load(Self.digits.appendingPathComponent("digits_cnn.onnx"))
        let cal = try #require(NumPy.load(Self.digits.appendingPathComponent("digits_cnn.npz"))["x"]).tensor
        let val = try NumPy.load(Self.digits.appendingPathComponent("digits_cnn.val.npz"))
        return (g, cal, try #require(val["x"]).tensor, try #require(val["y"]).ints)
    }

    @Test func digitsAtUniform8BitsAgreesWithFloat() throws {
        let (g, cal, x, y) = try digitsData()
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: false)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)
        let r = try Validator.evaluate(graph: g, model: model, x: x, labels: y)
        #expect(r.top1Agreement >= 99, "agreement \(r.top1Agreement)")
        #expect(r.meanKL <= 0.01, "KL \(r.meanKL)")
        #expect(try #require(r.accuracyFloat) >= 95)
        #expect(abs(try #require(r.accuracyQuantized) - r.accuracyFloat!) <= 1)
        print("digits 8-bit: float \(r.accuracyFloat!)% int \(r.accuracyQuantized!)% agree \(r.top1Agreement)% KL \(r.meanKL)")
    }

    /// The three MobileNet-family fixtures are trained on 32×32 digits (Tests/Fixtures/train.py):
    /// calibrated on 64 training images, measured on 397 held-out ones.
    @Test(arguments: ["mobilenet_v1_025_32", "mobilenet_v2_035_32", "mnasnet_035_32"])
    func fixturesAtUniform8BitsAgreeWithFloat(model name: String) throws {
        let g = try OnnxImporter.load(Fixtures.url(name + ".onnx"))
        let cal = try #require(NumPy.load(Fixtures.url("digits32.npz"))["x"]).tensor
        let val = try NumPy.load(Fixtures.url("digits32.val.npz"))
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: false)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)
        let r = try Validator.evaluate(graph: g, model: model, x: try #require(val["x"]).tensor, labels: try #require(val["y"]).ints)
        print("\(name) 8-bit: float \(r.accuracyFloat ?? 0)% int \(r.accuracyQuantized ?? 0)% agree \(r.top1Agreement)% KL \(r.meanKL)")
        #expect(r.top1Agreement >= 99, "\(name): agreement \(r.top1Agreement)")
        #expect(r.meanKL <= 0.01, "\(name): KL \(r.meanKL)")
        #expect(try #require(r.accuracyFloat) >= 95, "\(name): the fixture is trained")
        // SQNR compares each dequantized activation with float, so it carries every earlier
        // layer's error: ~40 dB at the first layer, ~10 dB at MobileNetV2's last blocks. A broken
        // layer drops below 0 dB.
        #expect(r.layers.allSatisfy { $0.sqnrDB > 5 }, "\(name): a layer lost its signal")
    }

    @Test func mixedPolicyRunsEndToEnd() throws {
        let (g, cal, x, y) = try digitsData()
        let targets = Quantizer.policyTargets(g)
        // 2, 4 and 8 bits all in use, on weights and on activations.
        var p = Policy.uniform(8)
        for (i, w) in targets.weights.enumerated() { p.weightBits[w] = [8, 4, 2, 4, 8, 8][i % 6] }
        for (i, a) in targets.activations.enumerated() { p.activationBits[a] = [8, 4, 8, 2, 8][i % 5] }
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: false)
        let model = try Quantizer.quantize(graph: g, policy: p, stats: stats)
        let bitsUsed = Set(model.layers.compactMap { l -> Int? in if case .conv(let c) = l.op { return c.weightBits }; return nil })
        #expect(bitsUsed == [2, 4, 8])
        #expect(Set(model.tensors.values.map(\.quant.bits)) == [2, 4, 8])
        let r = try Validator.evaluate(graph: g, model: model, x: x, labels: y)
        print("digits mixed: int \(r.accuracyQuantized!)% agree \(r.top1Agreement)% KL \(r.meanKL)")
        #expect(r.top1Agreement > 30)  // far from chance (10%), even with 2-bit tensors
        #expect(model.parameterBytes < (try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)).parameterBytes)
    }
}
