import Footprint
import Foundation
import Graph
import Import
import Quantize
import Search
import TestSupport
import Testing

@Suite struct SearchTests {
    /// A sensitivity table with random scores, larger for fewer bits.
    static func randomTable(_ space: (weights: [String], activations: [String]), seed: UInt64) -> SensitivityTable {
        var rng = SeededRandom(seed: seed)
        var kl: [String: [String: Double]] = [:]
        for k in space.weights.map(SensitivityTable.weightKey) + space.activations.map(SensitivityTable.activationKey) {
            let s8 = Double.random(in: 0...0.01, using: &rng), s4 = s8 + Double.random(in: 0...0.3, using: &rng)
            kl[k] = ["8": s8, "4": s4, "2": s4 + Double.random(in: 0...3, using: &rng)]
        }
        return SensitivityTable(bits: [2, 4, 8], images: 1, kl: kl)
    }

    func legacySpace(flashFraction: Double, ramFraction: Double, seed: UInt64) throws -> SearchSpace {
        let g = try OnnxImporter.load(Fixtures.url("legacy_opset10.onnx"))
        let t = Quantizer.policyTargets(g)
        let probe = SearchSpace(graph: g, budget: SearchBudget(flash: 1 << 30, ram: 1 << 30), table: Self.randomTable(t, seed: seed))
        let hi = probe.evaluate(.uniform(8)), lo = probe.minimum().1
        let flash = lo.flash + Int(Double(hi.flash - lo.flash) * flashFraction)
        let ram = lo.arena + Int(Double(hi.arena - lo.arena) * ramFraction)
        return SearchSpace(graph: g, budget: SearchBudget(flash: flash, ram: ram), table: probe.table)
    }

    /// Every policy of a small graph, enumerated.
    func bruteForce(_ space: SearchSpace) -> Double? {
        let nw = space.weightLayers.count, na = space.activationTensors.count
        var best: Double? = nil
        let choices = [2, 4, 8]
        for code in 0..<Int(pow(3.0, Double(nw + na))) {
            var c = code
            var bits: [Int] = []
            for _ in 0..<(nw + na) { bits.append(choices[c % 3]); c /= 3 }
            let p = space.policy(weights: Array(bits[..<nw]), activations: Array(bits[nw...]))
            let e = space.evaluate(p)
            if e.fits, best.map({ e.score < $0 }) ?? true { best = e.score }
        }
        return best
    }

    @Test(arguments: [(0.3, 0.3, 1), (0.5, 0.2, 2), (0.1, 0.6, 3), (0.8, 0.05, 4), (0.05, 0.9, 5)])
    func exactEqualsBruteForce(flash: Double, ram: Double, seed: UInt64) throws {
        let space = try legacySpace(flashFraction: flash, ramFraction: ram, seed: seed)
        #expect(space.weightLayers.count + space.activationTensors.count == 7)
        let exact = try ExactSearch.run(space)
        let brute = try #require(bruteForce(space))
        #expect(exact.evaluation.fits)
        #expect(abs(exact.evaluation.score - brute) < 1e-9, "exact \(exact.evaluation.score) vs brute force \(brute)")
    }

    @Test(arguments: [(0.3, 0.3, 1), (0.6, 0.4, 7)])
    func everySearcherFitsAndNoneBeatsExact(flash: Double, ram: Double, seed: UInt64) throws {
        let space = try legacySpace(flashFraction: flash, ramFraction: ram, seed: seed)
        let exact = try ExactSearch.run(space)
        let results = [try RuleBasedSearch.run(space), try HAQSearch.run(space, options: HAQOptions(episodes: 60, warmup: 10, seed: seed, updatesPerEpisode: 4)),
                       try HAQSearch.run(space, options: HAQOptions(episodes: 40, warmup: 10, seed: seed, repair: true, updatesPerEpisode: 4)), exact]
        for r in results {
            #expect(r.evaluation.fits, "\(r.method) does not fit: \(r.evaluation)")
            #expect(r.evaluation.flash <= space.budget.flash && r.evaluation.arena <= space.budget.ram)
            #expect(r.evaluation.score >= exact.evaluation.score - 1e-9, "\(r.method) beats the optimum")
        }
    }

    @Test func haqIsReproducibleWithASeed() throws {
        let space = try legacySpace(flashFraction: 0.4, ramFraction: 0.4, seed: 11)
        let a = try HAQSearch.run(space, options: HAQOptions(episodes: 40, warmup: 10, seed: 5, updatesPerEpisode: 8))
        let b = try HAQSearch.run(space, options: HAQOptions(episodes: 40, warmup: 10, seed: 5, updatesPerEpisode: 8))
        #expect(a.policy == b.policy)
        #expect(a.episodes == b.episodes)
        // Every episode ended within budget (per-step feasibility).
        #expect(a.episodes?.allSatisfy { $0.flash <= space.budget.flash && $0.ram <= space.budget.ram } == true)
    }

    /// The agent must search, not only stay feasible: within 1.10× of the optimum's score on the
    /// small graph, and the same seed gives the same policy.
    @Test(arguments: [(0.3, 0.3, UInt64(1)), (0.5, 0.2, 2), (0.6, 0.4, 7)])
    func haqGetsCloseToTheOptimum(flash: Double, ram: Double, seed: UInt64) throws {
        let space = try legacySpace(flashFraction: flash, ramFraction: ram, seed: seed)
        let exact = try ExactSearch.run(space)
        let options = HAQOptions(episodes: 120, seed: seed, updatesPerEpisode: 8)
        let a = try HAQSearch.run(space, options: options)
        let b = try HAQSearch.run(space, options: options)
        #expect(a.policy == b.policy)
        #expect(a.evaluation.fits)
        #expect(a.evaluation.score <= 1.10 * exact.evaluation.score, "haq \(a.evaluation.score) vs exact \(exact.evaluation.score)")
    }

    @Test func infeasibleBudgetNamesTheMinimumAndThePeak() throws {
        let g = try OnnxImporter.load(Fixtures.url("legacy_opset10.onnx"))
        let t = Quantizer.policyTargets(g)
        let space = SearchSpace(graph: g, budget: SearchBudget(flash: 100, ram: 100), table: Self.randomTable(t, seed: 1))
        for run in [{ try UniformSearch.run(space) }, { try RuleBasedSearch.run(space) }, { try ExactSearch.run(space) }] {
            #expect {
                _ = try run()
            } throws: { e in
                guard let e = e as? InfeasibleBudget else { return false }
                return e.minimumFlash > 100 && e.minimumRAM > 100 && !e.peakOp.isEmpty
            }
        }
    }

    /// Rusci et al.'s activation cuts on MobileNetV1 224 under 512,000 B, worked by hand:
    /// conv0 in+out = 150,528 + 401,408 > 512,000 → out 8→4; conv1 (dw) 200,704 + 401,408 → out
    /// 4; conv2 (pw) 200,704 + 802,816 → out 4, still 602,112 → 2; conv3 (dw s2) 200,704 +
    /// 200,704 fits at 8; conv4 200,704 + 401,408 → 4; conv5 and conv6 likewise 4; conv7 (dw
    /// s2) 200,704 + 100,352 fits; everything later is smaller.
    @Test func ruleBasedReproducesTheHandWorkedMobileNetV1Cuts() throws {
        let g = try ReferenceNetworks.mobileNetV1()
        let t = Quantizer.policyTargets(g)
        let space = SearchSpace(graph: g, budget: SearchBudget(flash: 2_048_000, ram: 512_000), table: Self.randomTable(t, seed: 1))
        let r = try RuleBasedSearch.run(space)
        let expected = ["relu0": 4, "relu1": 4, "relu2": 2, "relu3": 8, "relu4": 4, "relu5": 4, "relu6": 4, "relu7": 8, "relu8": 8]
        for (tensor, bits) in expected { #expect(r.policy.activationBits(tensor) == bits, "\(tensor)") }
        #expect(r.evaluation.fits)
        #expect(r.evaluation.arena <= 512_000 && r.evaluation.flash <= 2_048_000)
        // The largest layers were cut first: the 1024×1024 pointwise conv (closest to the input
        // among those within 5 points of the largest share) loses bits.
        #expect(r.policy.weightBits("conv26") < 8)
    }
}
