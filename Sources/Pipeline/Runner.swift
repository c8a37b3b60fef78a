import Foundation
import Graph
import Footprint
import Import
import Quantize
import Search

/// Exit codes shared by the CLI and CI (DESIGN.md).
public enum ExitCode: Int32, Sendable {
    case ok = 0, stageFailed = 1, usage = 2, validationFailed = 3, noInputs = 4, lockBusy = 9
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

    public init(outputDirectory: URL, threads: Int = 2, inputShape: [Int]? = nil, until: String = "validate", policy: URL? = nil,
                uniformBits: Int? = nil, budget: URL? = nil, data: URL? = nil, validationData: URL? = nil, maxAccuracyDrop: Double? = nil,
                resources: PipelineResources? = PipelineResources.locate()) {
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

    public static let stageOrder = ["parse", "search", "quantize", "validate"]
}

/// The outcome for one model (and budget).
public struct ModelRun: Sendable {
    public var model: String
    public var outputFolder: URL
    public var exitCode: ExitCode
    public var message: String
}

/// Runs the stages for each model and budget and publishes `output/NAME/` atomically.
public struct PipelineRunner {
    public var options: RunOptions
    /// Progress lines for the terminal.
    public var say: @Sendable (String) -> Void

    public init(options: RunOptions, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.say = say
    }

    /// One run per budget of the model's budget file (one output folder each).
    public func run(model: URL) -> [ModelRun] {
        let name = Names.fileName(model.deletingPathExtension().lastPathComponent)
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
        return budgets.map { b in
            runOne(model: model, folder: budgets.count > 1 ? name + "." + Names.fileName(b.name ?? "budget") : name, budget: b, configError: nil)
        }
    }

    func runOne(model: URL, folder: String, budget: Budget?, configError: Error?) -> ModelRun {
        let target = options.outputDirectory.appendingPathComponent(folder)
        var report = RunReport(model: folder, file: model.lastPathComponent)
        var exit = ExitCode.ok
        var message = "ok"
        var files: [(String, Data)] = []
        var sections: [String] = []
        let last = RunOptions.stageOrder.firstIndex(of: options.until) ?? RunOptions.stageOrder.count - 1

        /// Runs one stage with its log; a thrown error fails it and stops the model.
        func stage<T>(_ stageName: String, _ number: Int, _ body: (StageLog) throws -> T) -> T? {
            let log = StageLog(stage: stageName)
            let logPath = String(format: "logs/%02d-%@.log", number, stageName)
            defer {
                log.line(String(format: "finished in %.3f s", log.seconds))
                files.append((logPath, Data(log.text.utf8)))
            }
            log.line("ran: no earlier result for this model (no cache yet)")
            do {
                let v = try body(log)
                report.stages[stageName] = .init(status: "ok", cached: false, seconds: log.seconds, log: logPath)
                return v
            } catch {
                log.line("error: \(error)")
                report.stages[stageName] = .init(status: "failed", cached: false, seconds: log.seconds, log: logPath)
                report.error = "\(error)"
                switch error {
                case is UsageError, is PolicyError, is BudgetError: exit = .usage
                case is InfeasibleBudget: exit = .validationFailed
                default: exit = .stageFailed
                }
                message = "\(error)"
                return nil
            }
        }

        pipeline: do {
            guard let (graph, summary) = stage(ParseStage.name, ParseStage.number, { log in
                if let configError { throw configError }
                return try ParseStage.run(model: model, inputShape: options.inputShape ?? budget?.inputShape, log: log)
            }), let budget else { break pipeline }
            if let d = try? jsonData(summary) { files.append(("graph.json", d)) }
            report.graph = summary.totals
            sections.append(summary.markdown)
            guard last >= 1 else { break pipeline }

            // Search: a given policy file or uniform bits skip it.
            guard let (policy, source, data, stats) = stage(SearchStage.name, SearchStage.number, { log -> (Policy, String, ModelData, CalibrationStats) in
                let data = try ModelData.load(model: model, graph: graph, data: options.data ?? budget.data.map { URL(fileURLWithPath: $0) },
                                              validationData: options.validationData ?? budget.validationData.map { URL(fileURLWithPath: $0) }, log: log)
                log.line("calibrating on \(data.calibration.shape[0]) inputs (\(data.synthetic ? "SYNTHETIC" : "from data"))")
                let stats = try Calibrator.collect(graph: graph, inputs: data.calibration, synthetic: data.synthetic, threads: options.threads)
                if let (p, src) = try givenPolicy(model: model, graph: graph) {
                    log.line("search skipped: policy given by \(src)")
                    report.budget = BudgetReport(budget, method: "given")
                    return (p, src, data, stats)
                }
                let outcome = try SearchStage.run(graph: graph, budget: budget, stats: stats, data: data, threads: options.threads, log: log)
                let fp = FootprintReport(model: outcome.space.memory, policy: outcome.chosen.policy, budget: budget)
                let sr = SearchReport(outcome)
                report.budget = BudgetReport(budget, method: outcome.chosen.method)
                report.search = sr
                report.footprint = fp
                sections.append(sr.markdown(budget: budget, footprint: fp))
                files.append(("policy.json", try jsonData(PolicyFile(outcome: outcome, footprint: fp, budget: budget))))
                files.append(("sensitivity.json", try jsonData(outcome.table)))
                return (outcome.chosen.policy, "search (\(outcome.chosen.method))", data, stats)
            }) else { break pipeline }
            guard last >= 2 else { break pipeline }

            guard let q = stage(QuantizeStage.name, QuantizeStage.number, { log in
                try QuantizeStage.run(graph: graph, policy: policy, policySource: source, stats: stats, log: log)
            }) else { break pipeline }
            if let d = try? jsonData(q.model) { files.append(("quantized.json", d)) }
            report.policy = PolicyReport(q.model, source: q.policySource)
            report.quantize = .init(parameterBytes: q.model.parameterBytes, layers: q.model.layers.count)
            if report.footprint == nil {
                report.footprint = FootprintReport(model: MemoryModel(graph: graph), policy: policy, budget: budget)
            }
            sections.append(report.policy!.markdown(q.model))
            guard last >= 3 else { break pipeline }

            guard let v = stage(ValidateStage.name, ValidateStage.number, { log in
                try ValidateStage.run(graph: graph, quantized: q, data: data, maxAccuracyDrop: options.maxAccuracyDrop ?? budget.maxAccuracyDrop,
                                      threads: options.threads, log: log)
            }) else { break pipeline }
            if let d = try? jsonData(v) { files.append(("validation.json", d)) }
            report.validation = ValidationReport(v)
            sections.append(ValidationReport.markdown(v))
            var failures: [String] = []
            if !v.passed {
                failures.append(String(format: "accuracy dropped %.2f points, more than the allowed %.2f", v.accuracyDrop ?? 0, v.maxAccuracyDrop ?? 0))
            }
            if let fp = report.footprint, fp.flashBytes > budget.flash || fp.arenaBytes > budget.ram {
                failures.append("the policy needs \(fp.flashBytes) B FLASH and \(fp.arenaBytes) B RAM, over the budget of \(budget.flash) / \(budget.ram)")
            }
            if !failures.isEmpty {
                report.stages[ValidateStage.name]?.status = "failed"
                exit = .validationFailed
                message = failures.joined(separator: "; ")
                report.error = message
            }
        }
        do {
            files.append(("report.json", try jsonData(report)))
            files.append(("report.md", Data(report.markdown(sections: sections).utf8)))
            let staged = try StagedFolder(target: target)
            do {
                for (path, data) in files { try staged.write(path, data) }
                try staged.publish()
            } catch {
                staged.discard()
                throw error
            }
        } catch {
            return ModelRun(model: folder, outputFolder: target, exitCode: .stageFailed, message: "cannot write outputs: \(error)")
        }
        return ModelRun(model: folder, outputFolder: target, exitCode: exit, message: message)
    }

    /// A policy from `--policy`, `NAME.policy.json` or `--bits`, which replaces the search.
    func givenPolicy(model: URL, graph: Graph) throws -> (Policy, String)? {
        let beside = model.deletingPathExtension().appendingPathExtension("policy.json")
        if let url = options.policy ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil) {
            return (try Policy.load(url, graph: graph), url.lastPathComponent)
        }
        if let b = options.uniformBits {
            guard Policy.allowedBits.contains(b) else { throw UsageError("--bits must be 2, 4 or 8, got \(b)") }
            return (Policy.uniform(b), "uniform \(b)-bit weights and activations (--bits)")
        }
        return nil
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
