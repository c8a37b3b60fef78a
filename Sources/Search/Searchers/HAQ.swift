import Dispatch
import Foundation
import Graph
import Kernels
import Quantize

/// HAQ's reinforcement-learning search (Wang et al. 2019, as in mit-han-lab/haq), with the MCU
/// state features and per-step feasibility of Rusci et al.: one step per weight tensor and one
/// per activation tensor, in execution order.
///
/// Per step the agent sees 13 features: HAQ's 10 (depthwise flag, input and output channels,
/// stride, kernel, weight count, input H·W, index, previous bits, weight/activation flag;
/// min-max normalised over the steps) plus bytes of the tensor at 8 bits, budget pressure
/// (FLASH committed / budget, or RAM of the worst op this tensor is live in / budget) and the
/// largest bits still feasible (log2(b)/3). Its action a ∈ [0, 1] picks bits from the allowed
/// set in equal bins; the executed bits are clipped so that the budgets stay satisfiable if
/// every undecided tensor took the smallest bits, so every episode ends within budget.
/// `repair: true` instead lets the agent act freely and applies HAQ's end-of-episode walk
/// (from the last layer back, halving activation then weight bits until the budgets hold).
public struct HAQOptions: Sendable, Codable, Equatable {
    public var episodes = 600
    public var warmup = 20
    public var seed: UInt64 = 1
    public var repair = false
    /// Gradient steps after each episode; nil = 16. HAQ does one per stored transition (117 on
    /// MobileNetV2): with evaluations that cost nothing the updates are the whole run time, and
    /// more Adam steps drive the sigmoid actor into saturation sooner (measured on MobileNetV2
    /// at 2,048,000 B / 512,000 B, seed 1: 8 → 1.12×, 16 → 1.15×, 32 → 1.62× the optimum's score).
    public var updatesPerEpisode: Int? = nil
    /// With the score reward: each step is rewarded with its own tensor's term of the score
    /// (−KL at the bits finally used) instead of HAQ's final reward on every step. The score is
    /// a sum over tensors, so the return from the first step is the same −score.
    public var stepRewards = true
    public init(episodes: Int = 600, warmup: Int = 20, seed: UInt64 = 1, repair: Bool = false, updatesPerEpisode: Int? = nil,
                stepRewards: Bool = true) {
        self.stepRewards = stepRewards
        self.episodes = episodes
        self.warmup = warmup
        self.seed = seed
        self.repair = repair
        self.updatesPerEpisode = updatesPerEpisode
    }
}

public enum HAQSearch {
    /// `measuredReward`, when given, replaces the score reward: it returns the quantized model's
    /// top-1 agreement with float in percent, and the reward is 0.1·(agreement − 100) as HAQ's
    /// 0.1·(acc_q − acc_fp).
    public static func run(_ space: SearchSpace, options: HAQOptions, measuredReward: ((Policy) throws -> Double)? = nil,
                           progress: ((String) -> Void)? = nil) throws -> SearchResult {
        let t0 = DispatchTime.now()
        let (minP, minE) = space.minimum()
        guard minE.fits else { throw InfeasibleBudget(budget: space.budget, minimumFlash: minE.flash, minimumRAM: minE.arena, peakOp: space.peakOp(minP)) }
        var env = Environment(space)
        var rng = SplitMix(seed: options.seed)
        var agent = DDPGAgent(stateSize: Environment.featureCount, rng: &rng)
        let steps = env.steps.count
        let capacity = 128 * steps
        var buffer: [(s: [Float], a: Float, r: Float, s2: [Float], done: Bool)] = []
        buffer.reserveCapacity(capacity)
        var writeIndex = 0
        var best: (reward: Double, policy: Policy, eval: Evaluation)? = nil
        var log: [SearchResult.Episode] = []
        for episode in 0..<options.episodes {
            try Interrupt.check()
            env.reset()
            var states: [[Float]] = [], actions: [Float] = []
            for t in 0..<steps {
                let s = env.state(t)
                var a: Double
                if episode <= options.warmup {
                    a = rng.unit()
                } else {
                    let mu = Double(agent.act(Matrix(rows: 1, cols: s.count, data: s)).data[0])
                    let sigma = 0.5 * pow(0.99, Double(episode - options.warmup))
                    a = rng.truncatedNormal(mean: mu, sigma: sigma)
                }
                _ = env.apply(t, action: a, clip: !options.repair)
                states.append(s)
                actions.append(Float(a))
            }
            if options.repair { env.repairWalk() }
            env.fixArena()
            let p = env.policy()
            let e = space.evaluate(p)
            let reward: Double
            if let measuredReward { reward = 0.1 * (try measuredReward(p) - 100) } else { reward = -e.score }
            let fits = e.fits
            if fits, best.map({ reward > $0.reward }) ?? true { best = (reward, p, e) }
            // HAQ: every step of the episode carries the final reward. With the score reward and
            // `stepRewards`, step t carries its own tensor's term of the score instead (the same
            // return from step 0, with the credit where it belongs).
            let perStep = options.stepRewards && measuredReward == nil
            for t in 0..<steps {
                var reward = reward
                if perStep {
                    if let wi = env.steps[t].weight { reward = -space.table.value(SensitivityTable.weightKey(space.weightLayers[wi]), env.wBits[wi]) }
                    if let ai = env.steps[t].activation { reward = -space.table.value(SensitivityTable.activationKey(space.activationTensors[ai]), env.aBits[ai]) }
                }
                let s2 = t + 1 < steps ? states[t + 1] : states[t]
                let tr = (s: states[t], a: actions[t], r: Float(reward), s2: s2, done: t == steps - 1)
                if buffer.count < capacity { buffer.append(tr) } else { buffer[writeIndex] = tr }
                writeIndex = (writeIndex + 1) % capacity
            }
            if episode > options.warmup && buffer.count >= agent.h.batch {
                for _ in 0..<(options.updatesPerEpisode ?? 16) {
                    let idx = (0..<agent.h.batch).map { _ in Int(rng.next() % UInt64(buffer.count)) }
                    let f = Environment.featureCount
                    agent.update(s: Matrix(rows: idx.count, cols: f, data: idx.flatMap { buffer[$0].s }),
                                 a: Matrix(rows: idx.count, cols: 1, data: idx.map { buffer[$0].a }),
                                 r: idx.map { buffer[$0].r },
                                 s2: Matrix(rows: idx.count, cols: f, data: idx.flatMap { buffer[$0].s2 }),
                                 done: idx.map { buffer[$0].done })
                }
            }
            log.append(.init(episode: episode, reward: reward, flash: e.flash, ram: e.arena, bestReward: best?.reward ?? reward))
            if (episode + 1) % 100 == 0 { progress?(String(format: "haq: episode %d/%d, best reward %.5f", episode + 1, options.episodes, best?.reward ?? reward)) }
        }
        guard let best else {
            return SearchResult(method: options.repair ? "haq-repair" : "haq", policy: minP, evaluation: minE, seconds: elapsed(t0), seed: options.seed,
                                episodes: log, note: "no episode ended within budget; returning the minimum policy")
        }
        return SearchResult(method: options.repair ? "haq-repair" : "haq", policy: best.policy, evaluation: best.eval, seconds: elapsed(t0),
                            seed: options.seed, episodes: log, note: nil)
    }
}

/// The episode: which tensor each step decides, its features, and the budget bookkeeping.
struct Environment {
    static let featureCount = 13

    struct Step {
        var weight: Int?  // index into space.weightLayers
        var activation: Int?  // index into space.activationTensors
        var features: [Float]  // the 11 static features, normalised (prev bits and pressure slots left 0)
    }

    let space: SearchSpace
    let footprint: IndexedFootprint
    var steps: [Step] = []
    var wBits: [Int]
    var aBits: [Int]
    var wDecided: [Bool]
    var aDecided: [Bool]
    var prevBits = 8
    let aIndex: [String: Int]

    init(_ space: SearchSpace) {
        self.space = space
        footprint = IndexedFootprint(space)
        wBits = space.weightLayers.map { _ in 8 }
        aBits = space.activationTensors.map { _ in 8 }
        wDecided = wBits.map { _ in false }
        aDecided = aBits.map { _ in false }
        aIndex = Dictionary(uniqueKeysWithValues: space.activationTensors.enumerated().map { ($1, $0) })
        let g = space.memory.graph
        let wIndex = Dictionary(uniqueKeysWithValues: space.weightLayers.enumerated().map { ($1, $0) })
        var raw: [[Float]] = []
        for (li, l) in space.memory.layers.enumerated() {
            let x = g.shape(l.inputs.first ?? "")
            let y = g.shape(l.output)
            let node = g.nodes[l.node]
            var dw: Float = 0, stride: Float = 0, kernel: Float = 1, weights: Float = 0
            if case .conv(let c) = node.op {
                dw = c.group > 1 ? 1 : 0
                stride = Float(c.strides[0])
                kernel = Float(c.kernelShape[0])
            }
            if case .weighted(let rows, let len, _, _) = l.kind { weights = Float(rows * len) }
            let cin = Float(x.count == 4 ? x[1] : (x.last ?? 0)), cout = Float(y.count == 4 ? y[1] : (y.last ?? 0))
            let hw = Float(x.count == 4 ? x[2] * x[3] : 1)
            if let wi = wIndex[l.name] {
                steps.append(Step(weight: wi, activation: nil, features: []))
                raw.append([dw, cin, cout, stride, kernel, weights, hw, Float(li), 1, Float(space.weightBytes(wi, 8))])
            }
            if let ai = aIndex[l.output] {
                steps.append(Step(weight: nil, activation: ai, features: []))
                raw.append([dw, cin, cout, stride, kernel, weights, hw, Float(li), 0, Float(g.packedTensorBytes(l.output, bits: 8))])
            }
        }
        // Min-max normalise each column over the steps.
        for c in 0..<(raw.first?.count ?? 0) {
            let col = raw.map { $0[c] }
            let lo = col.min() ?? 0, hi = col.max() ?? 0
            for r in raw.indices where hi > lo { raw[r][c] = (raw[r][c] - lo) / (hi - lo) }
        }
        for i in steps.indices { steps[i].features = raw[i] }
    }

    mutating func reset() {
        wBits = wBits.map { _ in 8 }
        aBits = aBits.map { _ in 8 }
        wDecided = wDecided.map { _ in false }
        aDecided = aDecided.map { _ in false }
        prevBits = 8
    }

    var minW: Int { space.budget.weightBits.first ?? 2 }
    var minA: Int { space.budget.activationBits.first ?? 2 }

    /// Bits in effect for checks: decided ones, undecided at the minimum.
    func effective() -> ([Int], [Int]) {
        (wBits.indices.map { wDecided[$0] ? wBits[$0] : minW }, aBits.indices.map { aDecided[$0] ? aBits[$0] : minA })
    }

    func flashFits(_ w: [Int], _ a: [Int]) -> Bool { footprint.flash(weights: w, activations: a) <= space.budget.flash }

    /// Largest live bytes over the steps (the arena's lower bound).
    func liveBound(_ a: [Int]) -> Int { footprint.liveBound(activations: a) }

    func state(_ t: Int) -> [Float] {
        var f = steps[t].features
        let (w, a) = effective()
        let log3 = { (b: Int) in Float(log2(Double(b)) / 3) }
        f.insert(log3(prevBits), at: 8)  // previous bits
        if let wi = steps[t].weight {
            let committed = w.indices.filter { wDecided[$0] && $0 != wi }.reduce(0) { $0 + footprint.weightFlash[$1][w[$1]] + footprint.weightFixed[$1] }
            f.append(Float(committed) / Float(max(space.budget.flash, 1)))
            f.append(log3(maxFeasible(t, desired: space.budget.weightBits.last ?? 8)))
        } else {
            f.append(Float(liveBound(a)) / Float(max(space.budget.ram, 1)))
            f.append(log3(maxFeasible(t, desired: space.budget.activationBits.last ?? 8)))
        }
        return f
    }

    func maxFeasible(_ t: Int, desired: Int) -> Int {
        var (w, a) = effective()
        if let wi = steps[t].weight {
            for b in space.budget.weightBits.reversed() where b <= desired {
                w[wi] = b
                if flashFits(w, a) { return b }
            }
            return minW
        }
        guard let ai = steps[t].activation else { return 8 }
        for b in space.budget.activationBits.reversed() where b <= desired {
            a[ai] = b
            if liveBound(a) <= space.budget.ram && flashFits(w, a) { return b }
        }
        return minA
    }

    /// Executes the action at step t; returns the executed action (bin centre of the bits used).
    mutating func apply(_ t: Int, action: Double, clip: Bool) -> Double {
        let allowed = steps[t].weight != nil ? space.budget.weightBits : space.budget.activationBits
        let k = min(allowed.count - 1, Int(action * Double(allowed.count)))
        var bits = allowed[k]
        if clip { bits = maxFeasible(t, desired: bits) }
        if let wi = steps[t].weight { wBits[wi] = bits; wDecided[wi] = true }
        if let ai = steps[t].activation { aBits[ai] = bits; aDecided[ai] = true }
        prevBits = bits
        return (Double(allowed.firstIndex(of: bits) ?? k) + 0.5) / Double(allowed.count)
    }

    /// HAQ's end-of-episode repair: from the last layer back, halve activation then weight bits
    /// until both budgets hold.
    mutating func repairWalk() {
        func fits() -> Bool {
            let p = policy()
            return space.evaluate(p).fits
        }
        var guardCount = 0
        while !fits() && guardCount < 64 {
            guardCount += 1
            var changed = false
            for t in steps.indices.reversed() {
                if let ai = steps[t].activation, let nb = space.budget.activationBits.last(where: { $0 < aBits[ai] }) {
                    aBits[ai] = nb; changed = true
                    if fits() { return }
                }
                if let wi = steps[t].weight, let nb = space.budget.weightBits.last(where: { $0 < wBits[wi] }) {
                    wBits[wi] = nb; changed = true
                    if fits() { return }
                }
            }
            if !changed { return }
        }
    }

    /// The live-bytes bound can fit while the planner's arena does not: cut the largest tensor
    /// live at the arena's peak until it fits.
    mutating func fixArena() {
        var p = policy()
        var plan = space.memory.arena(activationBits: p.activationBits)
        while plan.arenaBytes > space.budget.ram {
            let mm = space.memory
            let cands = mm.liveTensors(step: plan.peakStep).compactMap { aIndex[mm.bitsSource[$0] ?? $0] }
                .filter { i in space.budget.activationBits.contains { $0 < aBits[i] } }
            guard let i = cands.max(by: { mm.graph.packedTensorBytes(space.activationTensors[$0], bits: aBits[$0]) < mm.graph.packedTensorBytes(space.activationTensors[$1], bits: aBits[$1]) }),
                  let nb = space.budget.activationBits.last(where: { $0 < aBits[i] }) else { return }
            aBits[i] = nb
            p = policy()
            plan = space.memory.arena(activationBits: p.activationBits)
        }
    }

    func policy() -> Policy { space.policy(weights: wBits, activations: aBits) }
}
