import Foundation
import Graph
import Codegen
import Footprint
import Import
import Kernels
import Quantize
import Search

/// Exit codes shared by the CLI and CI (DESIGN.md).
public enum ExitCode: Int32, Sendable {
    case ok = 0, stageFailed = 1, usage = 2, validationFailed = 3, noInputs = 4, lockBusy = 9, interrupted = 130, terminated = 143
}

public struct RunOptions: Sendable {
    public var outputDirectory: URL
    public var threads: Int
    public var inputShape: [Int]?
    /// Last stage to run.
    public var until: String
    /// A policy file, used instead of searching; else NAME.policy.json beside the model.
    public var policy: URL?
    /// Uniform bits instead of searching (nil: search).
    public var uniformBits: Int?
    /// A budget file instead of NAME.budget.json / budget.json / the pipeline default.
    public var budget: URL?
    public var data: URL?
    public var validationData: URL?
    public var maxAccuracyDrop: Double?
    public var resources: PipelineResources?
    /// The cache (content-addressed products of every stage run); nil disables caching.
    public var cacheDirectory: URL?
    /// The targets codegen builds and runs instead of the budget's `target` (`--targets`).
    public var targets: [String]?
    /// Say what would run and why, run nothing, publish nothing (`tinympq explain`).
    public var dryRun = false
    /// Output folders to run (`--shard`); nil runs every budget of every model.
    public var only: Set<String>? = nil

    public init(outputDirectory: URL, threads: Int = 2, inputShape: [Int]? = nil, until: String = "codegen", policy: URL? = nil,
                uniformBits: Int? = nil, budget: URL? = nil, data: URL? = nil, validationData: URL? = nil, maxAccuracyDrop: Double? = nil,
                resources: PipelineResources? = PipelineResources.locate(), cacheDirectory: URL? = nil) {
        self.cacheDirectory = cacheDirectory
        self.outputDirectory = outputDirectory
        self.threads = threads
        self.inputShape = inputShape
        self.until = until
        self.policy = policy
        self.uniformBits = uniformBits
        self.budget = budget
        self.data = data
        self.validationData = validationData
        self.maxAccuracyDrop = maxAccuracyDrop
        self.resources = resources
    }

    public static let stageOrder = PipelineStages.table.map { $0.name }
}

/// The outcome for one model (and budget).
public struct ModelRun: Sendable {
    public var model: String
    public var outputFolder: URL
    public var exitCode: ExitCode
    public var message: String
    /// False when the output folder already held this result (nothing changed) and was kept.
    public var published = true
}

/// Runs the stages for each model and budget and publishes `output/NAME/` atomically.
public struct PipelineRunner {
    public var options: RunOptions
    /// Progress lines for the terminal.
    public var say: @Sendable (String) -> Void
    /// Calibration shared by the budgets of one model (see `CalibrationMemo`).
    let calibration = CalibrationMemo()

    public init(options: RunOptions, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.say = say
    }

    /// One run per budget of the model's budget file (one output folder each).
    public func run(model: URL) -> [ModelRun] {
        if !options.dryRun { removeLeftovers() }
        let name = Discovery.outputName(model)
        let budgetURL = options.budget ?? options.resources.flatMap { BudgetFile.find(model: model, resources: $0) }
        var budgets: [Budget] = []
        var budgetError: Error? = nil
        if let budgetURL {
            do { budgets = try BudgetFile.load(budgetURL, resources: options.resources) } catch { budgetError = error }
        } else {
            budgetError = BudgetError(file: model.lastPathComponent, field: nil,
                                      message: "no budget: put \(name).budget.json or budget.json beside the model (the pipeline default was not found)")
        }
        if let budgetError {
            return [runOne(model: model, folder: name, budget: nil, configError: budgetError)]
        }
        let points = budgets.map { (folder: Self.folder(model: name, budget: $0, of: budgets.count), budget: $0) }
        let runs = points.filter { options.only?.contains($0.folder) ?? true }.map { runOne(model: model, folder: $0.folder, budget: $0.budget, configError: nil) }
        summarise(model: name, points: points)
        return runs
    }

    /// Removes what processes killed mid-way left behind: staging folders in the output
    /// folder, scratch files in the cache.
    func removeLeftovers() {
        for name in StagedFolder.removeLeftovers(in: options.outputDirectory) { say("removed \(name), left by an interrupted run") }
        if let dir = options.cacheDirectory { (try? ArtifactStore(root: dir))?.removeLeftovers() }
    }

    /// One output folder: the stages up to `--until`, the gates, then one atomic publish.
    func runOne(model: URL, folder: String, budget: Budget?, configError: Error?) -> ModelRun {
        var run = StageRunner(folder: folder, model: model, store: options.cacheDirectory.flatMap { try? ArtifactStore(root: $0) }, say: say)
        run.dryRun = options.dryRun
        do {
            if let configError { throw configError }
            guard let budget else { throw UsageError("no budget for \(model.lastPathComponent)") }
            let context = try StageContext(model: model, folder: folder, options: options, budget: budget, store: run.store, calibration: calibration)
            runStages(context, &run)
            checkGates(&run, budget: budget)
        } catch {
            run.fail(ParseStage.name, ParseStage.number, error)
        }
        if options.dryRun {
            return ModelRun(model: folder, outputFolder: options.outputDirectory.appendingPathComponent(folder), exitCode: .ok,
                            message: run.explanations.joined(separator: "\n"))
        }
        return run.publish(to: options.outputDirectory.appendingPathComponent(folder))
    }

    /// Restores or runs each stage of the table up to `--until`, in order, each keyed by its
    /// declared inputs; stops at the first that fails (or, for `explain`, would run).
    func runStages(_ c: StageContext, _ run: inout StageRunner) {
        let last = RunOptions.stageOrder.firstIndex(of: options.until) ?? RunOptions.stageOrder.count - 1
        for stage in PipelineStages.table.prefix(last + 1) {
            c.report = run.report
            guard stage.applies(c) else { continue }
            let components: [String: String]
            do { components = try stage.key(c) } catch {
                run.fail(stage.name, stage.number, error)
                return
            }
            guard let result = run.stage(stage.name, stage.number, components: components, { log in try stage.run(c, log: log) }) else { return }
            c.products[stage.name] = result
        }
    }

    /// The gates, checked on the merged report (so a cached validation or codegen still fails):
    /// the accuracy drop, codegen's problems, and the footprint against the budget.
    func checkGates(_ run: inout StageRunner, budget: Budget) {
        var failures: [String] = []
        if let v = run.report.validation, !v.passed {
            failures.append(String(format: "accuracy dropped %.2f points, more than the allowed %.2f",
                                   (v.accuracyFloat ?? 0) - (v.accuracyQuantized ?? 0), v.maxAccuracyDrop ?? 0))
        }
        if let c = run.report.codegen, !c.passed {
            run.report.stages[CodegenStage.name]?.status = "failed"
            if run.exit == .ok { run.exit = .stageFailed }
            run.message = c.problems.joined(separator: "; ")
            run.report.error = run.message
        }
        if let fp = run.report.footprint, fp.flashBytes > budget.flash || fp.arenaBytes > budget.ram {
            failures.append("the policy needs \(fp.flashBytes) B FLASH and \(fp.arenaBytes) B RAM, over the budget of \(budget.flash) / \(budget.ram)")
        }
        if !failures.isEmpty {
            run.report.stages[ValidateStage.name]?.status = "failed"
            run.exit = .validationFailed
            run.message = failures.joined(separator: "; ")
            run.report.error = run.message
        }
    }
}

/// `policy.json`: what the search decided, with its costs, in the form `--policy` reads back.
struct PolicyFile: Encodable {
    var defaultWeightBits: Int
    var defaultActivationBits: Int
    var weightBits: [String: Int]
    var activationBits: [String: Int]
    var method: String
    var seed: UInt64?
    var score: Double
    var footprint: FootprintReport
    var budget: [String: Int]
    var layers: [[String: String]]

    init(outcome o: SearchStage.Outcome, footprint: FootprintReport, budget: Budget) {
        let p = o.chosen.policy
        defaultWeightBits = p.defaultWeightBits
        defaultActivationBits = p.defaultActivationBits
        weightBits = p.weightBits
        activationBits = p.activationBits
        method = o.chosen.method
        seed = o.chosen.seed
        score = o.chosen.evaluation.score
        self.footprint = footprint
        self.budget = ["flashBytes": budget.flash, "ramBytes": budget.ram]
        let mm = o.space.memory
        let tb = mm.tensorBits(p.activationBits)
        layers = mm.layers.map { l in
            var row = ["layer": l.name, "output": l.output, "outputBits": String(tb[l.output] ?? 8),
                       "outputBytes": String(mm.graph.packedTensorBytes(l.output, bits: tb[l.output] ?? 8))]
            if case .weighted = l.kind {
                row["weightBits"] = String(p.weightBits(l.name))
                row["flashBytes"] = String(mm.layerFlash(l, weightBits: p.weightBits(l.name), inputBits: tb[l.inputs.first ?? ""] ?? 8))
            }
            return row
        }
    }

    // `--policy` reads only the four bit fields; the rest is for people and CI.
}

func jsonData<T: Encodable>(_ v: T) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var d = try e.encode(v)
    d.append(0x0a)
    return d
}
