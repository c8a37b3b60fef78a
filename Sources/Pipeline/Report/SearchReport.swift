import Foundation
import Footprint
import Quantize
import Search

/// `report.json` → `budget`.
public struct BudgetReport: Codable, Sendable {
    public var name: String?
    public var file: String
    public var target: String
    public var flashBytes: Int
    public var ramBytes: Int
    public var weightBits: [Int]
    public var activationBits: [Int]
    public var method: String
    public var seed: UInt64
    public var maxAccuracyDrop: Double?

    init(_ b: Budget, method: String) {
        name = b.name
        file = b.file
        target = b.target
        flashBytes = b.flash
        ramBytes = b.ram
        weightBits = b.weightBits
        activationBits = b.activationBits
        self.method = method
        seed = b.search.seed
        maxAccuracyDrop = b.maxAccuracyDrop
    }
}

/// `report.json` → `footprint`: the memory model's figures for the chosen policy.
public struct FootprintReport: Codable, Sendable {
    public var flashBytes: Int
    public var ramBytes: Int
    public var arenaBytes: Int
    public var arenaLowerBound: Int
    public var peakOp: String
    public var utilisation: [String: Double]
    /// RAM live at each step of execution (step 0: the input is written; then one per layer).
    public var liveBytes: [LiveStep]?

    /// The activation buffers live while one step runs, as the arena planner sizes them.
    public struct LiveStep: Codable, Sendable {
        public var step: Int
        /// The layer that runs (nil at step 0).
        public var layer: String?
        public var bytes: Int
        /// Live tensors with their bytes, largest first.
        public var tensors: [Tensor]

        public struct Tensor: Codable, Sendable {
            public var name: String
            public var bytes: Int
        }
    }

    init(model m: MemoryModel, policy p: Policy, budget: Budget) {
        flashBytes = m.flashBytes(weightBits: p.weightBits, activationBits: p.activationBits)
        let plan = m.arena(activationBits: p.activationBits)
        arenaBytes = plan.arenaBytes
        ramBytes = plan.arenaBytes
        arenaLowerBound = plan.lowerBound
        peakOp = m.layer(atStep: plan.peakStep)?.name ?? m.graph.inputs[0]
        // The planner's buffers (aligned sizes) of the tensors the memory model says are live.
        let size = Dictionary(plan.buffers.map { ($0.name, $0.size) }, uniquingKeysWith: { a, _ in a })
        liveBytes = (0..<m.steps).map { step in
            let live = m.liveTensors(step: step).map { LiveStep.Tensor(name: $0, bytes: size[$0] ?? 0) }.sorted { $0.bytes > $1.bytes }
            return LiveStep(step: step, layer: m.layer(atStep: step)?.name, bytes: live.reduce(0) { $0 + $1.bytes }, tensors: live)
        }
        utilisation = ["flash": Double(flashBytes) / Double(budget.flash), "ram": Double(arenaBytes) / Double(budget.ram)]
    }

    func markdown(_ b: Budget) -> String {
        String(format: "- FLASH %@ B of %@ B (%.1f%%); RAM arena %@ B of %@ B (%.1f%%), live-bytes lower bound %@ B, peak at `%@`\n",
               Markdown.int(flashBytes), Markdown.int(b.flash), 100 * (utilisation["flash"] ?? 0), Markdown.int(arenaBytes), Markdown.int(b.ram),
               100 * (utilisation["ram"] ?? 0), Markdown.int(arenaLowerBound), peakOp)
    }
}

/// `report.json` → `search`.
public struct SearchReport: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var method: String
        public var score: Double
        public var flashBytes: Int
        public var ramBytes: Int
        public var fits: Bool
        public var seconds: Double
        public var note: String?
    }

    public var method: String
    public var score: Double
    public var comparison: [Row]
    public var rankCorrelation: Double?
    public var sensitivityImages: Int
    /// HAQ's reward per episode, when the agent ran.
    public var curve: [Double]?

    init(_ o: SearchStage.Outcome) {
        method = o.chosen.method
        score = o.chosen.evaluation.score
        comparison = o.comparison.map {
            Row(method: $0.method, score: $0.evaluation.score, flashBytes: $0.evaluation.flash, ramBytes: $0.evaluation.arena,
                fits: $0.evaluation.fits, seconds: $0.seconds, note: $0.note)
        }
        rankCorrelation = o.rankCorrelation
        sensitivityImages = o.table.images
        curve = o.comparison.first { $0.episodes != nil }?.episodes?.map(\.reward)
    }

    func markdown(budget: Budget, footprint: FootprintReport) -> String {
        var s = "## Search\n\n"
        s += "- budget `\(budget.name ?? "default")` (\(budget.file)): FLASH \(Markdown.int(budget.flash)) B, RAM \(Markdown.int(budget.ram)) B, target \(budget.target)\n"
        s += "- chosen: **\(method)**, score \(String(format: "%.5f", score)) (sum of per-tensor output KL, measured on \(sensitivityImages) calibration images)\n"
        s += footprint.markdown(budget)
        if let r = rankCorrelation {
            s += String(format: "- the score ranks fully quantized models with Spearman ρ = %.2f against their measured KL (1 = perfect)\n", r)
        }
        s += "\n"
        let rows = comparison.map {
            [$0.method, String(format: "%.5f", $0.score), Markdown.int($0.flashBytes), Markdown.int($0.ramBytes), $0.fits ? "yes" : "no",
             String(format: "%.3f", $0.seconds), $0.note ?? ""]
        }
        s += Markdown.table(["searcher", "score (lower is better)", "FLASH B", "RAM B", "fits", "seconds", "note"], rows, rightAligned: [1, 2, 3, 5])
        return s
    }
}
