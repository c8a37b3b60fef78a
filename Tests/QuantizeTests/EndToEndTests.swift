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

    /// The fixtures have random (untrained) weights at tiny widths (8–16 channels in early
    /// layers). Such networks amplify any perturbation layer after layer and end in nearly flat
    /// logits, so 8-bit noise flips more top-1 decisions than in a trained model (measured:
    /// MobileNetV1 100 %, MobileNetV2 81 %, MNasNet 75–88 % agreement; per-layer SQNR starts at
    /// 38 dB and decays by ~1 dB per layer). The ≥ 99 % / KL ≤ 0.01 bar is asserted on the
    /// trained digits model above and on MobileNetV1; the deeper random fixtures get a bound
    /// that still catches a broken layer (which drops agreement to chance and SQNR below 0 dB).
    @Test(arguments: [("mobilenet_v1_025_32", 99.0, 0.01), ("mobilenet_v2_035_32", 70.0, 0.1), ("mnasnet_035_32", 65.0, 1.0)])
    func fixturesAtUniform8BitsStayCloseToFloat(model name: String, minAgreement: Double, maxKL: Double) throws {
        let g = try OnnxImporter.load(Fixtures.url(name + ".onnx"))
        let shape = g.shape(g.inputs[0])
        let cal = Calibrator.syntheticInputs(shape: shape, count: 16, seed: 1)
        let x = Calibrator.syntheticInputs(shape: shape, count: 48, seed: 2)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)
        let r = try Validator.evaluate(graph: g, model: model, x: x, labels: nil)
        print("\(name) 8-bit: agree \(r.top1Agreement)% KL \(r.meanKL) minSQNR \(r.layers.map(\.sqnrDB).min() ?? 0)")
        #expect(r.top1Agreement >= minAgreement, "\(name): agreement \(r.top1Agreement)")
        #expect(r.meanKL <= maxKL, "\(name): KL \(r.meanKL)")
        #expect(r.layers.first.map { $0.sqnrDB > 30 } ?? false, "\(name): first layer SQNR")
        #expect(r.layers.allSatisfy { $0.sqnrDB > 3 }, "\(name): a layer lost its signal")
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
