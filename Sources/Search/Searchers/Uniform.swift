import Dispatch
import Quantize

/// The largest single bit-width (weights and activations alike) that fits; the baseline.
public enum UniformSearch {
    public static func run(_ space: SearchSpace) throws -> SearchResult {
        let t0 = DispatchTime.now()
        let common = Set(space.budget.weightBits).intersection(space.budget.activationBits).sorted(by: >)
        for b in common {
            let p = space.policy(weights: space.weightLayers.map { _ in b }, activations: space.activationTensors.map { _ in b })
            let e = space.evaluate(p)
            if e.fits {
                return SearchResult(method: "uniform", policy: p, evaluation: e, seconds: elapsed(t0), note: "uniform \(b)-bit")
            }
        }
        let (p, e) = space.minimum()
        if !e.fits { throw InfeasibleBudget(budget: space.budget, minimumFlash: e.flash, minimumRAM: e.arena, peakOp: space.peakOp(p)) }
        // Mixed bits fit but no single width does.
        return SearchResult(method: "uniform", policy: p, evaluation: Evaluation(flash: e.flash, arena: e.arena, lowerBound: e.lowerBound, score: e.score, fits: false),
                            seconds: elapsed(t0), note: "infeasible: no uniform bit-width fits (mixed precision is needed)")
    }
}

func elapsed(_ t0: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9 }
