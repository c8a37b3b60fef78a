import Dispatch
import Kernels
import Quantize

/// The optimum of the additive score under both budgets.
///
/// The problem separates: FLASH depends on weight bits (plus lookup tables, a few hundred bytes
/// that depend on activation bits: those are fixed first), RAM on activation bits.
/// - Activations: a Viterbi-style DP over the ops, the state being the bits of the tensors live
///   at each step (≤ 3–5 tensors in MobileNets, so ≤ 243 states); a step is allowed iff its
///   live bytes fit the RAM budget. The greedy planner can need more than the live bytes
///   (fragmentation), so candidates are enumerated best-first (A* on the DP's cost-to-go) until
///   one's planned arena fits: still the exact optimum under the planner.
/// - Weights: a multiple-choice knapsack solved by a Pareto-frontier DP over layers (keep the
///   non-dominated (bytes, score) pairs of every prefix), exact with no discretisation.
public enum ExactSearch {
    public static func run(_ space: SearchSpace) throws -> SearchResult {
        let t0 = DispatchTime.now()
        let (minP, minE) = space.minimum()
        guard minE.fits else { throw InfeasibleBudget(budget: space.budget, minimumFlash: minE.flash, minimumRAM: minE.arena, peakOp: space.peakOp(minP)) }
        // Exact under the planner when a candidate in the best-first order fits; when the
        // planner's fragmentation rejects too many, the RAM cap is lowered step by step (the
        // result then fits but is not proven optimal; the note says so).
        var cap = space.budget.ram
        var found: [Int]? = nil
        var tried = 0
        var lowered = 0
        while found == nil && lowered <= 24 && cap > 0 {
            let (f, t) = activationSearch(space, cap: cap, maxCandidates: lowered == 0 ? 2000 : 100)
            found = f
            tried += t
            if found == nil {
                lowered += 1
                cap -= max(4, space.budget.ram / 50)
            }
        }
        guard let act = found else {
            return SearchResult(method: "exact", policy: minP, evaluation: minE, seconds: elapsed(t0),
                                note: "no activation assignment within the RAM budget was found in \(tried) candidates; fell back to the minimum")
        }
        let lookupBytes = space.memory.flashBytes(weightBits: { _ in 8 }, activationBits: space.policy(weights: [], activations: act).activationBits)
            - space.weightLayers.indices.reduce(0) { $0 + space.weightBytes($1, 8) }
        let wts = try weightDP(space, budget: space.budget.flash - lookupBytes)
        let p = space.policy(weights: wts, activations: act)
        return SearchResult(method: "exact", policy: p, evaluation: space.evaluate(p), seconds: elapsed(t0),
                            note: lowered > 0 ? "RAM cap lowered \(lowered)× by 2% for planner fragmentation: feasible, not proven optimal"
                                : (tried > 1 ? "\(tried) activation candidates checked against the planner (fragmentation)" : nil))
    }

    /// Activation bits of least score whose planned arena fits.
    ///
    /// The live-bytes bound is necessary for the arena to fit (arena ≥ bound), so the search
    /// walks the layered graph of per-step live states (a state = the bits of the tensors live
    /// at that step; a step is allowed iff its live bytes fit) best-first, A* with the exact
    /// cost-to-go from a backward DP. Complete assignments come out in order of score; the
    /// first one the greedy planner fits is the optimum. Returns the assignment and how many
    /// complete candidates were checked.
    static func activationSearch(_ space: SearchSpace, cap: Int, maxCandidates: Int = 2000, maxExpansions: Int = 2_000_000) -> ([Int]?, Int) {
        let mm = space.memory
        let index = Dictionary(uniqueKeysWithValues: space.activationTensors.enumerated().map { ($1, $0) })
        let choices = space.budget.activationBits
        let steps = mm.steps
        var vars: [[Int]] = []
        var states: [[[Int]]] = []  // per step: valid bit assignments of vars[step]
        var cost: [[Double]] = []
        for step in 0..<steps {
            let v = Array(Set(mm.liveTensors(step: step).compactMap { index[mm.bitsSource[$0] ?? $0] })).sorted()
            let isNew = v.map { k in step == 0 || !vars[step - 1].contains(k) }
            var all: [[Int]] = [[]]
            for _ in v { all = all.flatMap { a in choices.map { a + [$0] } } }
            let live = mm.liveTensors(step: step)
            var valid: [[Int]] = [], c: [Double] = []
            for a in all {
                let bits = Dictionary(uniqueKeysWithValues: zip(v, a))
                let bytes = live.reduce(0) { acc, t in
                    let b = index[mm.bitsSource[t] ?? t].flatMap { bits[$0] } ?? 8
                    return acc + (mm.graph.packedTensorBytes(t, bits: b) + 3) / 4 * 4
                }
                guard bytes <= cap else { continue }
                valid.append(a)
                c.append(zip(v, a).enumerated().reduce(0.0) { acc, e in
                    isNew[e.offset] ? acc + space.table.value(SensitivityTable.activationKey(space.activationTensors[e.element.0]), e.element.1) : acc
                })
            }
            if valid.isEmpty { return (nil, 0) }
            vars.append(v)
            states.append(valid)
            cost.append(c)
        }
        // Successors: states of step k+1 that agree with a state of step k on shared variables.
        func compatible(_ k: Int, _ a: Int, _ b: Int) -> Bool {
            let va = vars[k], vb = vars[k + 1]
            for (i, x) in va.enumerated() { if let j = vb.firstIndex(of: x), states[k][a][i] != states[k + 1][b][j] { return false } }
            return true
        }
        var succ: [[[Int]]] = []
        for k in 0..<(steps - 1) {
            succ.append(states[k].indices.map { a in states[k + 1].indices.filter { compatible(k, a, $0) } })
        }
        // Exact cost-to-go.
        var h = states.map { $0.map { _ in Double.infinity } }
        for a in states[steps - 1].indices { h[steps - 1][a] = 0 }
        for k in stride(from: steps - 2, through: 0, by: -1) {
            for a in states[k].indices {
                h[k][a] = succ[k][a].map { cost[k + 1][$0] + h[k + 1][$0] }.min() ?? .infinity
            }
        }
        // Best-first over partial paths.
        struct Path { var f: Double; var g: Double; var step: Int; var state: Int; var parent: Int }
        var nodes: [Path] = []
        var heap = MinHeap()
        for a in states[0].indices where h[0][a].isFinite {
            nodes.append(Path(f: cost[0][a] + h[0][a], g: cost[0][a], step: 0, state: a, parent: -1))
            heap.push(nodes.count - 1, nodes[nodes.count - 1].f)
        }
        var candidates = 0
        while let n = heap.pop(), nodes.count < maxExpansions {
            if Interrupt.requested { return (nil, candidates) }
            let p = nodes[n]
            if p.step == steps - 1 {
                candidates += 1
                var bits = space.activationTensors.map { _ in choices.last ?? 8 }
                var i = n
                while i >= 0 {
                    let q = nodes[i]
                    for (v, b) in zip(vars[q.step], states[q.step][q.state]) { bits[v] = b }
                    i = q.parent
                }
                let plan = mm.arena(activationBits: space.policy(weights: [], activations: bits).activationBits)
                if plan.arenaBytes <= space.budget.ram { return (bits, candidates) }
                if candidates >= maxCandidates { return (nil, candidates) }
                continue
            }
            for b in succ[p.step][p.state] where h[p.step + 1][b].isFinite {
                let g = p.g + cost[p.step + 1][b]
                nodes.append(Path(f: g + h[p.step + 1][b], g: g, step: p.step + 1, state: b, parent: n))
                heap.push(nodes.count - 1, nodes[nodes.count - 1].f)
            }
        }
        return (nil, candidates)
    }

    /// Minimum-score weight bits with Σ bytes ≤ budget.
    static func weightDP(_ space: SearchSpace, budget: Int) throws -> [Int] {
        struct Point { var bytes: Int; var score: Double; var parent: Int; var bits: Int }
        var layers: [[Point]] = []
        var frontier = [Point(bytes: 0, score: 0, parent: -1, bits: 0)]
        for i in space.weightLayers.indices {
            let key = SensitivityTable.weightKey(space.weightLayers[i])
            var cand: [Point] = []
            for (pi, p) in frontier.enumerated() {
                for b in space.budget.weightBits {
                    let bytes = p.bytes + space.weightBytes(i, b)
                    if bytes <= budget { cand.append(Point(bytes: bytes, score: p.score + space.table.value(key, b), parent: pi, bits: b)) }
                }
            }
            cand.sort { $0.bytes != $1.bytes ? $0.bytes < $1.bytes : $0.score < $1.score }
            // Keep the Pareto front: strictly decreasing score as bytes grow.
            var front: [Point] = []
            for c in cand where front.last.map({ c.score < $0.score }) ?? true { front.append(c) }
            guard !front.isEmpty else { throw InfeasibleBudget(budget: space.budget, minimumFlash: budget + 1, minimumRAM: 0, peakOp: space.weightLayers[i]) }
            layers.append(front)
            frontier = front
        }
        guard var idx = frontier.indices.min(by: { frontier[$0].score < frontier[$1].score }) else { return [] }
        var bits = [Int](repeating: 8, count: space.weightLayers.count)
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            let p = layers[i][idx]
            bits[i] = p.bits
            idx = p.parent
        }
        return bits
    }
}

/// A binary min-heap of (item, key).
struct MinHeap {
    private var items: [(Int, Double)] = []

    mutating func push(_ item: Int, _ key: Double) {
        items.append((item, key))
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p].1 <= items[i].1 { break }
            items.swapAt(p, i)
            i = p
        }
    }

    mutating func pop() -> Int? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].1 < items[m].1 { m = l }
                if r < items.count && items[r].1 < items[m].1 { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top.0
    }
}
