import Footprint
import Graph
import Import
import Quantize
import Search
import TestSupport
import Testing

/// `uniform`: one width for all weights and one for all activations, which may differ.
@Suite struct UniformTests {
    func space(weightBits: [Int], activationBits: [Int], flash: (SearchSpace) -> Int) throws -> SearchSpace {
        let g = try OnnxImporter.load(Fixtures.url("mobilenet_v2_035_32.onnx"))
        let t = Quantizer.policyTargets(g)
        let probe = SearchSpace(graph: g, budget: SearchBudget(flash: 1 << 30, ram: 1 << 30), table: SearchTests.randomTable(t, seed: 5))
        return SearchSpace(graph: g, budget: SearchBudget(flash: flash(probe), ram: 1 << 30, weightBits: weightBits, activationBits: activationBits),
                           table: probe.table)
    }

    func w4a8(_ s: SearchSpace) -> Policy {
        s.policy(weights: s.weightLayers.map { _ in 4 }, activations: s.activationTensors.map { _ in 8 })
    }

    @Test func weightsAt4AndActivationsAt8GiveW4A8WhenItFits() throws {
        let s = try space(weightBits: [4], activationBits: [8]) { $0.evaluate(w4a8($0)).flash }
        let r = try UniformSearch.run(s)
        #expect(r.evaluation.fits, "\(r.note ?? "")")
        #expect(r.policy == w4a8(s))
        #expect(r.note == "uniform W4A8")
    }

    @Test func theOnlyPairOneByteOverIsInfeasible() throws {
        // Only W4A8 allowed and one byte short: nothing fits.
        let tight = try space(weightBits: [4], activationBits: [8]) { $0.evaluate(w4a8($0)).flash - 1 }
        #expect(throws: InfeasibleBudget.self) { try UniformSearch.run(tight) }
    }

    /// With every width allowed, the fitting pair of lowest score; 8/8 when everything fits.
    @Test func theFittingPairOfLowestScoreIsChosen() throws {
        let all = try space(weightBits: [2, 4, 8], activationBits: [2, 4, 8]) { _ in 1 << 30 }
        #expect(try UniformSearch.run(all).note == "uniform 8-bit")
        let s = try space(weightBits: [2, 4, 8], activationBits: [2, 4, 8]) { ($0.evaluate(.uniform(8)).flash + $0.evaluate(w4a8($0)).flash) / 2 }
        let r = try UniformSearch.run(s)
        #expect(r.evaluation.fits)
        var best = Double.infinity
        for w in [2, 4, 8] {
            for a in [2, 4, 8] {
                let e = s.evaluate(s.policy(weights: s.weightLayers.map { _ in w }, activations: s.activationTensors.map { _ in a }))
                if e.fits { best = min(best, e.score) }
            }
        }
        #expect(r.evaluation.score == best)
        #expect(r.policy.weightBits.values.allSatisfy { $0 == 4 } || r.policy.weightBits.values.allSatisfy { $0 == 2 })
    }
}
