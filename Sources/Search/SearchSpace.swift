import Footprint
import Graph
import Quantize

/// The memory limits and allowed bit-widths a search works under.
public struct SearchBudget: Sendable, Codable, Equatable {
    public var flash: Int
    public var ram: Int
    public var weightBits: [Int]
    public var activationBits: [Int]

    public init(flash: Int, ram: Int, weightBits: [Int] = [2, 4, 8], activationBits: [Int] = [2, 4, 8]) {
        self.flash = flash
        self.ram = ram
        self.weightBits = weightBits.sorted()
        self.activationBits = activationBits.sorted()
    }
}

/// A policy's cost under the memory model and its score under the sensitivity table.
public struct Evaluation: Sendable, Codable, Equatable {
    public var flash: Int
    public var arena: Int
    public var lowerBound: Int
    public var score: Double
    public var fits: Bool
}

/// Everything a searcher needs: the tensors to decide, what each choice costs and scores, and
/// the budget. All searchers share it, so their results are comparable.
public struct SearchSpace: Sendable {
    public let memory: MemoryModel
    public let budget: SearchBudget
    public let table: SensitivityTable
    /// Weight tensors by layer name, in execution order.
    public let weightLayers: [String]
    /// Searchable activation tensors, in execution order.
    public let activationTensors: [String]

    public init(graph: Graph, budget: SearchBudget, table: SensitivityTable) {
        memory = MemoryModel(graph: graph)
        self.budget = budget
        self.table = table
        let t = Quantizer.policyTargets(graph)
        weightLayers = t.weights
        activationTensors = t.activations
    }

    public func policy(weights: [Int], activations: [Int]) -> Policy {
        Policy(defaultWeightBits: 8, defaultActivationBits: 8,
               weightBits: Dictionary(uniqueKeysWithValues: zip(weightLayers, weights)),
               activationBits: Dictionary(uniqueKeysWithValues: zip(activationTensors, activations)))
    }

    public func score(_ p: Policy) -> Double {
        weightLayers.reduce(0) { $0 + table.value(SensitivityTable.weightKey($1), p.weightBits($1)) }
            + activationTensors.reduce(0) { $0 + table.value(SensitivityTable.activationKey($1), p.activationBits($1)) }
    }

    public func evaluate(_ p: Policy) -> Evaluation {
        let flash = memory.flashBytes(weightBits: p.weightBits, activationBits: p.activationBits)
        let plan = memory.arena(activationBits: p.activationBits)
        return Evaluation(flash: flash, arena: plan.arenaBytes, lowerBound: plan.lowerBound, score: score(p),
                          fits: flash <= budget.flash && plan.arenaBytes <= budget.ram)
    }

    /// Weight bytes (packed rows + per-channel constants) of layer `i` at `bits`.
    public func weightBytes(_ i: Int, _ bits: Int) -> Int {
        guard let l = memory.layers.first(where: { $0.name == weightLayers[i] }) else { return 0 }
        return memory.layerFlash(l, weightBits: bits, inputBits: 8)
    }

    /// Every tensor at the smallest allowed bits: if this does not fit, nothing does.
    public func minimum() -> (Policy, Evaluation) {
        let p = policy(weights: weightLayers.map { _ in budget.weightBits.first ?? 2 },
                       activations: activationTensors.map { _ in budget.activationBits.first ?? 2 })
        return (p, evaluate(p))
    }

    /// The op where the arena's live bytes peak for `p`.
    public func peakOp(_ p: Policy) -> String {
        let plan = memory.arena(activationBits: p.activationBits)
        return memory.layer(atStep: plan.peakStep)?.name ?? memory.graph.inputs[0]
    }
}

/// What one searcher found.
public struct SearchResult: Sendable, Codable {
    public struct Episode: Sendable, Codable, Equatable {
        public var episode: Int
        public var reward: Double
        public var flash: Int
        public var ram: Int
        public var bestReward: Double
    }

    public var method: String
    public var policy: Policy
    public var evaluation: Evaluation
    public var seconds: Double
    public var seed: UInt64?
    public var episodes: [Episode]?
    public var note: String?
}

/// No policy fits: the smallest FLASH and RAM any policy can reach, and where RAM peaks.
public struct InfeasibleBudget: Error, CustomStringConvertible, Sendable {
    public var budget: SearchBudget
    public var minimumFlash: Int
    public var minimumRAM: Int
    public var peakOp: String

    public init(budget: SearchBudget, minimumFlash: Int, minimumRAM: Int, peakOp: String) {
        self.budget = budget
        self.minimumFlash = minimumFlash
        self.minimumRAM = minimumRAM
        self.peakOp = peakOp
    }

    public var description: String {
        "infeasible budget: even with every tensor at \(budget.weightBits.first ?? 2)/\(budget.activationBits.first ?? 2) bits the model needs "
            + "\(minimumFlash) B FLASH (budget \(budget.flash)) and \(minimumRAM) B RAM (budget \(budget.ram)); the RAM peak is at op '\(peakOp)'"
    }
}
