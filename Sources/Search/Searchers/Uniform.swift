import Dispatch
import Quantize

/// One width for all weights and one for all activations (the two may differ, e.g. W4A8): of
/// the pairs the budget allows that fit, the one with the lowest score; ties go to more bits.
/// The baseline.
public enum UniformSearch {
    public static func run(_ space: SearchSpace) throws -> SearchResult {
        let t0 = DispatchTime.now()
        var best: (w: Int, a: Int, policy: Policy, evaluation: Evaluation)? = nil
        for w in space.budget.weightBits.sorted(by: >) {
            for a in space.budget.activationBits.sorted(by: >) {
                let p = space.policy(weights: space.weightLayers.map { _ in w }, activations: space.activationTensors.map { _ in a })
                let e = space.evaluate(p)
                guard e.fits else { continue }
                if let b = best, (e.score, -(w + a), -w) >= (b.evaluation.score, -(b.w + b.a), -b.w) { continue }
                best = (w, a, p, e)
            }
        }
        if let b = best {
            return SearchResult(method: "uniform", policy: b.policy, evaluation: b.evaluation, seconds: elapsed(t0),
                                note: b.w == b.a ? "uniform \(b.w)-bit" : "uniform W\(b.w)A\(b.a)")
        }
        let (p, e) = space.minimum()
        if !e.fits { throw InfeasibleBudget(budget: space.budget, minimumFlash: e.flash, minimumRAM: e.arena, peakOp: space.peakOp(p)) }
        // Mixed bits fit but no uniform pair does.
        return SearchResult(method: "uniform", policy: p, evaluation: Evaluation(flash: e.flash, arena: e.arena, lowerBound: e.lowerBound, score: e.score, fits: false),
                            seconds: elapsed(t0), note: "infeasible: no uniform weight and activation bit-widths fit (mixed precision is needed)")
    }
}

func elapsed(_ t0: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9 }
