import Foundation
import Graph
import Import
import Quantize
import Search
import TestSupport
import Testing

/// The sensitivity table's image rule and the float-simulated score check.
@Suite struct SensitivityTests {
    func setup(images: Int) throws -> (Graph, CalibrationStats, Tensor) {
        let g = try OnnxImporter.load(Fixtures.url("legacy_opset10.onnx"))
        let x = Calibrator.syntheticInputs(shape: g.shape(g.inputs[0]), count: images, seed: 3)
        return (g, try Calibrator.collect(graph: g, inputs: x, synthetic: true), x)
    }

    @Test func imageRuleStopsWhenTheRankingAgreesAndIsDeterministic() throws {
        let (g, stats, x) = try setup(images: 12)
        // Agreement 0 is always reached: the first check (8 images, against 4) stops.
        let easy = Sensitivity.ImageRule(minimum: 8, step: 4, agreement: 0)
        let ruled = try Sensitivity.measure(graph: g, stats: stats, images: x, bits: [2, 8], threads: 2, rule: easy)
        #expect(ruled.images == 8)
        let first8 = Tensor.stack((0..<8).map { x.item($0) })
        let plain = try Sensitivity.measure(graph: g, stats: stats, images: first8, bits: [2, 8], threads: 2)
        #expect(ruled == plain)
        // An agreement above 1 is never reached: every image is used.
        let never = Sensitivity.ImageRule(minimum: 8, step: 4, agreement: 1.5)
        let all = try Sensitivity.measure(graph: g, stats: stats, images: x, bits: [2, 8], threads: 2, rule: never)
        #expect(all.images == 12)
        #expect(try Sensitivity.measure(graph: g, stats: stats, images: x, bits: [2, 8], threads: 1) == all)
    }

    @Test func scoreCheckIsReproducibleAndOrdersUniformPolicies() throws {
        let (g, stats, x) = try setup(images: 4)
        let space = SearchSpace(graph: g, budget: SearchBudget(flash: 1 << 30, ram: 1 << 30),
                                table: try Sensitivity.measure(graph: g, stats: stats, images: x, bits: [2, 4, 8]))
        let random = ScoreCheck.randomPolicies(space, weightBits: [2, 4, 8], activationBits: [2, 4, 8], count: 3, seed: 9)
        #expect(random == ScoreCheck.randomPolicies(space, weightBits: [2, 4, 8], activationBits: [2, 4, 8], count: 3, seed: 9))
        #expect(random != ScoreCheck.randomPolicies(space, weightBits: [2, 4, 8], activationBits: [2, 4, 8], count: 3, seed: 10))
        let policies = [Policy.uniform(8), .uniform(2)] + random
        let kl = try ScoreCheck.jointKL(graph: g, stats: stats, policies: policies, images: x)
        #expect(kl == (try ScoreCheck.jointKL(graph: g, stats: stats, policies: policies, images: x, threads: 1)))
        #expect(kl[0] >= 0 && kl[0] < kl[1], "\(kl)")
        // With one tensor quantized, the joint KL is that tensor's table entry.
        let layer = space.weightLayers[0]
        let one = Policy(defaultWeightBits: 8, defaultActivationBits: 8, weightBits: [layer: 2])
        let alone = try ScoreCheck.jointKL(graph: g, stats: stats, policies: [one], images: x, only: [SensitivityTable.weightKey(layer)])
        #expect(abs(alone[0] - space.table.value(SensitivityTable.weightKey(layer), 2)) < 1e-9, "\(alone[0])")
        let tensor = space.activationTensors[0]
        let act = Policy(defaultWeightBits: 8, defaultActivationBits: 8, activationBits: [tensor: 2])
        let aloneA = try ScoreCheck.jointKL(graph: g, stats: stats, policies: [act], images: x, only: [SensitivityTable.activationKey(tensor)])
        #expect(abs(aloneA[0] - space.table.value(SensitivityTable.activationKey(tensor), 2)) < 1e-9, "\(aloneA[0])")
    }
}
