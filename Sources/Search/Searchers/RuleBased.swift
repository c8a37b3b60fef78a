import Dispatch
import Quantize

/// The memory-driven cuts of Rusci et al. 2019 ("Memory-Driven Mixed Low Precision"),
/// generalised from chains to any live set:
///
/// 1. Activations (RAM). Start at the largest bits. Sweep forward over the ops; where the live
///    bytes exceed the budget: if an input is the larger term (more bits, or equal bits and more
///    bytes) defer it to the backward sweep, else halve the op's output. Sweep backward with the
///    mirrored rule (halve the largest input; defer the output). Alternate until every op fits;
///    fail when an op has nothing left to cut. The network input is never cut.
/// 2. Weights (FLASH). While over budget: among layers above the minimum, take those whose
///    share of the weight bytes is within δ = 5 points of the largest share and halve the one
///    closest to the input.
public enum RuleBasedSearch {
    public static let delta = 0.05

    public static func run(_ space: SearchSpace) throws -> SearchResult {
        let t0 = DispatchTime.now()
        let (minP, minE) = space.minimum()
        guard minE.fits else { throw InfeasibleBudget(budget: space.budget, minimumFlash: minE.flash, minimumRAM: minE.arena, peakOp: space.peakOp(minP)) }
        let aBits = space.budget.activationBits, wBits = space.budget.weightBits
        var act = space.activationTensors.map { _ in aBits.last ?? 8 }
        var wts = space.weightLayers.map { _ in wBits.last ?? 8 }
        let index = Dictionary(uniqueKeysWithValues: space.activationTensors.enumerated().map { ($1, $0) })
        let mm = space.memory
        func lower(_ b: Int, _ allowed: [Int]) -> Int? { allowed.last { $0 < b } }
        func bits(_ t: String) -> Int {
            let src = mm.bitsSource[t] ?? t
            return index[src].map { act[$0] } ?? 8
        }
        func bytes(_ t: String) -> Int { mm.graph.packedTensorBytes(t, bits: bits(t)) }
        var note = ""
        var forward = true
        var sweeps = 0
        var idleSweeps = 0
        while true {
            var violations = false
            var changed = false
            let steps = forward ? Array(1..<mm.steps) : Array((1..<mm.steps).reversed())
            for step in steps {
                guard let layer = mm.layer(atStep: step) else { continue }
                let live = mm.liveTensors(step: step)
                let out = mm.bitsSource[layer.output] ?? layer.output
                // Cut at this op while it is over budget and this sweep's direction allows.
                while live.reduce(0, { $0 + bytes($1) }) > space.budget.ram {
                    violations = true
                    let others = live.map { mm.bitsSource[$0] ?? $0 }.filter { $0 != out && index[$0] != nil }
                    // The largest other live tensor: more bits first, then more bytes.
                    let biggest = others.max { a, b in (bits(a), bytes(a)) < (bits(b), bytes(b)) }
                    let outCuttable = index[out].flatMap { lower(act[$0], aBits) } != nil
                    let inCuttable = biggest.flatMap { lower(bits($0), aBits) } != nil
                    let inputLarger = biggest.map { (bits($0), bytes($0)) > (bits(out), bytes(out)) } ?? false
                    if forward {
                        if inCuttable && (inputLarger || !outCuttable) { break }  // the backward sweep cuts the input
                        guard let i = index[out], let nb = lower(act[i], aBits) else { break }
                        act[i] = nb
                    } else {
                        if outCuttable && !(inCuttable && (inputLarger || !outCuttable)) { break }  // the forward sweep cuts the output
                        guard let b = biggest, let i = index[b], let nb = lower(act[i], aBits) else { break }
                        act[i] = nb
                    }
                    changed = true
                }
            }
            sweeps += 1
            if !violations { break }
            idleSweeps = changed ? 0 : idleSweeps + 1
            if idleSweeps >= 2 {
                // Neither direction can cut any more.
                let p = space.policy(weights: wts, activations: act)
                let e = space.evaluate(p)
                return SearchResult(method: "rule", policy: p, evaluation: e, seconds: elapsed(t0), note: "activation cuts found no solution for the RAM budget")
            }
            forward.toggle()
            if sweeps > 64 { break }
        }
        note += "\(sweeps) activation sweeps"
        // The planner's arena can exceed the live-bytes bound; cut the largest tensor at the peak until it fits.
        var plan = mm.arena(activationBits: space.policy(weights: wts, activations: act).activationBits)
        while plan.arenaBytes > space.budget.ram {
            let live = mm.liveTensors(step: plan.peakStep).map { mm.bitsSource[$0] ?? $0 }.filter { index[$0] != nil && lower(bits($0), aBits) != nil }
            guard let b = live.max(by: { bytes($0) < bytes($1) }), let i = index[b], let nb = lower(act[i], aBits) else { break }
            act[i] = nb
            plan = mm.arena(activationBits: space.policy(weights: wts, activations: act).activationBits)
        }
        // Weights.
        while true {
            let p = space.policy(weights: wts, activations: act)
            if mm.flashBytes(weightBits: p.weightBits, activationBits: p.activationBits) <= space.budget.flash { break }
            let wb = wts.indices.map { space.weightBytes($0, wts[$0]) }
            let total = Double(wb.reduce(0, +))
            let shares = wb.map { Double($0) / total }
            let cands = wts.indices.filter { lower(wts[$0], wBits) != nil }
            guard let rmax = cands.map({ shares[$0] }).max() else { break }
            guard let pick = cands.first(where: { shares[$0] > rmax - delta }), let nb = lower(wts[pick], wBits) else { break }
            wts[pick] = nb
        }
        let p = space.policy(weights: wts, activations: act)
        return SearchResult(method: "rule", policy: p, evaluation: space.evaluate(p), seconds: elapsed(t0), note: note)
    }
}
