import Foundation
import Footprint
import Graph
import Quantize
import Search

/// Stage 2: budget, calibration statistics and data → the policy (bits of every tensor).
public enum SearchStage {
    public static let name = "search"
    public static let number = 2
    /// Bump when what this stage produces for the same inputs changes.
    public static let implementationVersion = 1
    /// Calibration images the sensitivity table is measured on.
    public static let sensitivityImages = 32

    public struct Outcome: Sendable {
        public var chosen: SearchResult
        public var comparison: [SearchResult]
        public var table: SensitivityTable
        /// Spearman rank correlation between the additive score and the measured KL of fully
        /// quantized models, and the policies it was measured on.
        public var rankCorrelation: Double?
        public var checks: [(score: Double, measuredKL: Double)]
        public var space: SearchSpace
    }

    /// `cachedTable` looks the sensitivity table up (or stores it) under a key of its own, so a
    /// budget change re-searches without re-measuring it.
    public static func run(graph: Graph, budget: Budget, stats: CalibrationStats, data: ModelData, threads: Int, log: StageLog,
                           cachedTable: ((_ bits: [Int], _ compute: () throws -> SensitivityTable) throws -> SensitivityTable)? = nil) throws -> Outcome {
        let b = budget.searchBudget
        log.line("budget \(budget.name ?? "(unnamed)") from \(budget.file): FLASH \(b.flash) B, RAM \(b.ram) B, weight bits \(b.weightBits), activation bits \(b.activationBits), target \(budget.target)")
        log.line("method \(budget.search.method), seed \(budget.search.seed)" + (budget.search.method == "haq" ? ", \(budget.search.episodes) episodes, reward \(budget.search.reward)\(budget.search.repair ? ", repair" : "")" : ""))
        // Fail fast, before the sensitivity pass, if some op has no integer implementation.
        _ = try Quantizer.quantize(graph: graph, policy: .uniform(8), stats: stats, options: .init(biasCorrection: false))
        let images = min(sensitivityImages, data.calibration.shape[0])
        let sub = Tensor.stack((0..<images).map { data.calibration.item($0) })
        let bitsSet = sensitivityBits(budget)
        let t0 = Date()
        // With hessian rounding the table and the checks below measure the codes the quantizer will choose.
        let hessians = try WeightRoundingStep.searchHessians(graph: graph, rounding: budget.rounding, images: sub, threads: threads, log: log)
        let weightVariant = WeightRoundingStep.sensitivityVariant(hessians: hessians, threads: threads)
        let computeTable = {
            try Sensitivity.measure(graph: graph, stats: stats, images: sub, bits: bitsSet, threads: threads,
                                    weightVariant: weightVariant, rule: .standard) { log.line($0) }
        }
        let table = try cachedTable.map { try $0(bitsSet, computeTable) } ?? computeTable()
        log.line(String(format: "sensitivity table: %d tensors × %d bit-widths on %d of %d images, %.2f s", table.kl.count, bitsSet.count, table.images, images, Date().timeIntervalSince(t0)))
        let space = SearchSpace(graph: graph, budget: b, table: table)
        let (minP, minE) = space.minimum()
        guard minE.fits else {
            throw InfeasibleBudget(budget: b, minimumFlash: minE.flash, minimumRAM: minE.arena, peakOp: space.peakOp(minP))
        }
        func measure(_ p: Policy, images n: Int) throws -> ValidationResult {
            let weights = try hessians.map { try HessianRounding.round(graph: graph, policy: p, hessians: $0, threads: threads) } ?? [:]
            let m = try Quantizer.quantize(graph: graph, policy: p, stats: stats, options: .init(weights: weights))
            let x = Tensor.stack((0..<min(n, data.calibration.shape[0])).map { data.calibration.item($0) })
            return try Validator.evaluate(graph: graph, model: m, x: x, labels: nil, threads: threads)
        }
        var results: [SearchResult] = []
        results.append(try UniformSearch.run(space))
        results.append(try RuleBasedSearch.run(space))
        results.append(try ExactSearch.run(space))
        if budget.search.method == "haq" {
            let opts = HAQOptions(episodes: budget.search.episodes, seed: budget.search.seed, repair: budget.search.repair,
                                  updatesPerEpisode: budget.search.updatesPerEpisode)
            let reward: ((Policy) throws -> Double)? = budget.search.reward == "measured" ? { try measure($0, images: 8).top1Agreement } : nil
            let r = try HAQSearch.run(space, options: opts, measuredReward: reward) { log.line($0) }
            for e in r.episodes ?? [] {
                log.line(String(format: "episode %d reward %.6f flash %d ram %d best %.6f", e.episode, e.reward, e.flash, e.ram, e.bestReward))
            }
            results.append(r)
        }
        for r in results {
            log.line(String(format: "%@: score %.5f, FLASH %d B, RAM %d B (bound %d), %@, %.3f s%@", r.method, r.evaluation.score, r.evaluation.flash,
                            r.evaluation.arena, r.evaluation.lowerBound, r.evaluation.fits ? "fits" : "does not fit", r.seconds, r.note.map { " (\($0))" } ?? ""))
        }
        guard let chosen = results.first(where: { $0.method == budget.search.method || ($0.method == "haq-repair" && budget.search.method == "haq") }),
              chosen.evaluation.fits else {
            throw SearchStageError(message: "method \(budget.search.method) found no policy within the budget (see the comparison in the log)")
        }
        // How well the additive score ranks fully quantized models (simulated in float; seeded,
        // so the report is reproducible).
        let t1 = Date()
        let policies = [Policy.uniform(8)] + results.filter(\.evaluation.fits).map(\.policy)
            + ScoreCheck.randomPolicies(space, weightBits: b.weightBits, activationBits: b.activationBits, count: 3, seed: UInt64(truncatingIfNeeded: budget.search.seed))
        let checkImages = Tensor.stack((0..<min(images, 8)).map { data.calibration.item($0) })
        let measured = try ScoreCheck.jointKL(graph: graph, stats: stats, policies: policies, images: checkImages, threads: threads,
                                                weightVariant: weightVariant) { log.line($0) }
        let checks: [(Double, Double)] = zip(policies, measured).map { (space.score($0), $1) }
        log.line(String(format: "score check: %d policies on %d images, %.2f s", policies.count, checkImages.shape[0], Date().timeIntervalSince(t1)))
        let rho = Sensitivity.spearman(checks.map(\.0), checks.map(\.1))
        if let rho { log.line(String(format: "score vs KL of %d fully quantized policies (simulated in float): Spearman rank correlation %.3f", checks.count, rho)) }
        return Outcome(chosen: chosen, comparison: results, table: table, rankCorrelation: rho, checks: checks, space: space)
    }
}

public struct SearchStageError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension SearchStage: PipelineStage {
    static let inputs: [StageInput] = [.graph, .budget, .calibration, .given]

    static func run(_ c: StageContext, log: StageLog) throws -> StageOutput {
        let g = try c.graph(log)
        let (data, stats) = try c.dataAndStats(log)
        let budget = c.budget
        var r = c.emptyReport()
        if let (p, src) = try c.givenPolicy(graph: g) {
            log.line("search skipped: policy given by \(src)")
            r.budget = BudgetReport(budget, method: "given")
            r.footprint = FootprintReport(model: MemoryModel(graph: g), policy: p, budget: budget)
            return try StageOutput(files: ["policy.json": jsonData(p)], report: r,
                                   markdown: "## Search\n\n- skipped: policy given by \(src)\n" + (r.footprint?.markdown(budget) ?? ""))
        }
        let outcome = try run(graph: g, budget: budget, stats: stats, data: data, threads: c.options.threads, log: log) { _, compute in
            try c.cached(SensitivityStep.self, log: log, compute)
        }
        let fp = FootprintReport(model: outcome.space.memory, policy: outcome.chosen.policy, budget: budget)
        let sr = SearchReport(outcome)
        r.budget = BudgetReport(budget, method: outcome.chosen.method)
        r.search = sr
        r.footprint = fp
        return try StageOutput(files: ["policy.json": jsonData(PolicyFile(outcome: outcome, footprint: fp, budget: budget)),
                                       "sensitivity.json": jsonData(outcome.table)],
                               report: r, markdown: sr.markdown(budget: budget, footprint: fp))
    }

    /// The bit-widths the sensitivity table is measured at: every width the budget allows.
    static func sensitivityBits(_ budget: Budget) -> [Int] {
        let b = budget.searchBudget
        return Array(Set(b.weightBits + b.activationBits)).sorted()
    }
}

/// The sensitivity table, a sub-step of the search with a cache entry of its own: it depends on
/// the graph, the calibration data and the bit-widths only, so a budget edit re-searches
/// without re-measuring it.
enum SensitivityStep: CachedStep {
    static let name = "sensitivity"
    static let implementationVersion = 1
    static let inputs: [StageInput] = [.graph, .calibration, .sensitivityBits, .rounding]
}
