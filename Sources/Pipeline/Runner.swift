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
    /// Say what would run and why, run nothing, publish nothing (`tinympq explain`).
    public var dryRun = false

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

    public static let stageOrder = ["parse", "search", "quantize", "validate", "codegen"]
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
        var run = StageRunner(folder: folder, model: model, store: options.cacheDirectory.flatMap { try? ArtifactStore(root: $0) }, say: say)
        run.dryRun = options.dryRun
        let last = RunOptions.stageOrder.firstIndex(of: options.until) ?? RunOptions.stageOrder.count - 1
        let tool = "\(ToolInfo.version)/\(KernelBuild.flavour)"

        pipeline: do {
            // Inputs everything depends on.
            let modelDigest: String
            do { modelDigest = try fileDigest(model) } catch {
                run.fail(ParseStage.name, ParseStage.number, ImportError(file: model.lastPathComponent, "cannot read the file: \(error.localizedDescription)"))
                break pipeline
            }
            if let configError {
                run.fail(ParseStage.name, ParseStage.number, configError)
                break pipeline
            }
            guard let budget else { break pipeline }
            let inputShape = options.inputShape ?? budget.inputShape
            // Data: the given files, else NAME.npz / NAME.val.npz, else synthetic. The shape of
            // the calibration x fixes the input dimensions the model leaves free.
            let dataURL = options.data ?? budget.data.map { URL(fileURLWithPath: $0) }
            let valURL = options.validationData ?? budget.validationData.map { URL(fileURLWithPath: $0) }
            let (calFile, valFile) = ModelData.files(model: model, data: dataURL, validationData: valURL)
            let dataShape = calFile.flatMap { try? NumPy.load($0)["x"]?.shape }.map { [1] + $0.dropFirst() }  // the batch size does not matter
            let graphID = modelDigest + (inputShape.map { "@\($0)" } ?? "") + (dataShape.map { "#\($0)" } ?? "")
            var graphMemo: Graph? = nil
            func graph(_ log: StageLog) throws -> Graph {
                if let g = graphMemo { return g }
                let (g, _) = try ParseStage.run(model: model, inputShape: inputShape, dataShape: dataShape, log: log)
                graphMemo = g
                return g
            }

            guard run.stage(ParseStage.name, ParseStage.number, components: [
                "stage": ParseStage.name, "impl": String(ParseStage.implVersion), "tool": tool, "model": modelDigest,
                "inputShape": inputShape.map { "\($0)" } ?? "", "dataShape": dataShape.map { "\($0)" } ?? "",
            ], { log in
                let (g, summary) = try ParseStage.run(model: model, inputShape: inputShape, dataShape: dataShape, log: log)
                graphMemo = g
                var r = RunReport(model: folder, file: model.lastPathComponent)
                r.graph = summary.totals
                return try StageOutput(files: ["graph.json": jsonData(summary)], report: r, markdown: summary.markdown)
            }) != nil, last >= 1 else { break pipeline }

            let calDigest = (calFile.flatMap { try? fileDigest($0) }) ?? "synthetic"
            let valDigest = (valFile.flatMap { try? fileDigest($0) }) ?? "none"
            var dataMemo: (ModelData, CalibrationStats)? = nil
            func dataAndStats(_ log: StageLog) throws -> (ModelData, CalibrationStats) {
                if let d = dataMemo { return d }
                let g = try graph(log)
                let data = try ModelData.load(model: model, graph: g, calibration: calFile, validation: valFile, log: log)
                log.line("calibrating on \(data.calibration.shape[0]) inputs (\(data.synthetic ? "SYNTHETIC" : "from data"))")
                let stats = try Calibrator.collect(graph: g, inputs: data.calibration, synthetic: data.synthetic, threads: options.threads)
                dataMemo = (data, stats)
                return (data, stats)
            }

            // Search (or the given policy).
            let given = try? givenPolicySource(model: model)
            var budgetJSON = budget
            budgetJSON.file = ""
            budgetJSON.data = nil
            budgetJSON.validationData = nil
            budgetJSON.maxAccuracyDrop = nil
            guard let searchOut = run.stage(SearchStage.name, SearchStage.number, components: [
                "stage": SearchStage.name, "impl": "1", "tool": tool, "graph": graphID, "budget": canonicalJSON(budgetJSON),
                "calibration": calDigest, "given": given?.digest ?? "",
            ], { log in
                let g = try graph(log)
                let (data, stats) = try dataAndStats(log)
                var r = RunReport(model: folder, file: model.lastPathComponent)
                if let (p, src) = try givenPolicy(model: model, graph: g) {
                    log.line("search skipped: policy given by \(src)")
                    r.budget = BudgetReport(budget, method: "given")
                    r.footprint = FootprintReport(model: MemoryModel(graph: g), policy: p, budget: budget)
                    return try StageOutput(files: ["policy.json": jsonData(p)], report: r, markdown: "## Search\n\n- skipped: policy given by \(src)\n" + (r.footprint?.markdown(budget) ?? ""))
                }
                _ = data
                // The sensitivity table depends on the graph, the calibration data and the bits only.
                let store = options.cacheDirectory.flatMap { try? ArtifactStore(root: $0) }
                let cachedTable: ([Int], () throws -> SensitivityTable) throws -> SensitivityTable = { bits, compute in
                    let key = cacheKey(["stage": "sensitivity", "impl": "1", "tool": tool, "graph": graphID, "calibration": calDigest, "bits": "\(bits)"])
                    if let store, let rec = store.record(stage: "sensitivity", key: key), let blob = store.get(rec.product),
                       let t = try? JSONDecoder().decode(SensitivityTable.self, from: blob) {
                        log.line("sensitivity table restored from cache (key \(key.prefix(16)))")
                        return t
                    }
                    let t = try compute()
                    if let store, let blob = try? JSONEncoder().encode(t), let digest = try? store.put(blob) {
                        try? store.save(RunRecord(stage: "sensitivity", key: key, components: [:], product: digest, createdAt: Date()))
                    }
                    return t
                }
                let outcome = try SearchStage.run(graph: g, budget: budget, stats: stats, data: data, threads: options.threads, log: log,
                                                  cachedTable: cachedTable)
                let fp = FootprintReport(model: outcome.space.memory, policy: outcome.chosen.policy, budget: budget)
                let sr = SearchReport(outcome)
                r.budget = BudgetReport(budget, method: outcome.chosen.method)
                r.search = sr
                r.footprint = fp
                return try StageOutput(files: ["policy.json": jsonData(PolicyFile(outcome: outcome, footprint: fp, budget: budget)),
                                               "sensitivity.json": jsonData(outcome.table)],
                                       report: r, markdown: sr.markdown(budget: budget, footprint: fp))
            }), last >= 2 else { break pipeline }

            guard let policyData = searchOut.files["policy.json"], let policy = try? JSONDecoder().decode(Policy.self, from: policyData) else {
                run.fail(QuantizeStage.name, QuantizeStage.number, SearchStageError(message: "the search produced no readable policy.json"))
                break pipeline
            }
            let policySource = given?.name ?? "search (\(run.report.search?.method ?? budget.search.method))"
            guard let quantOut = run.stage(QuantizeStage.name, QuantizeStage.number, components: [
                "stage": QuantizeStage.name, "impl": "1", "tool": tool, "graph": graphID, "policy": SHA256.hex(policyData), "calibration": calDigest,
            ], { log in
                let g = try graph(log)
                let (_, stats) = try dataAndStats(log)
                let q = try QuantizeStage.run(graph: g, policy: policy, policySource: policySource, stats: stats, log: log)
                var r = RunReport(model: folder, file: model.lastPathComponent)
                let pr = PolicyReport(q.model, source: q.policySource)
                r.policy = pr
                r.quantize = .init(parameterBytes: q.model.parameterBytes, layers: q.model.layers.count)
                return try StageOutput(files: ["quantized.json": jsonData(q.model)],
                                       internalFiles: ["quantized-without-bias-correction.json": jsonData(q.withoutBiasCorrection)],
                                       report: r, markdown: pr.markdown(q.model))
            }), last >= 3 else { break pipeline }

            guard let qData = quantOut.files["quantized.json"], let plainData = quantOut.internalFiles["quantized-without-bias-correction.json"],
                  let qModel = try? JSONDecoder().decode(QuantizedModel.self, from: qData),
                  let plain = try? JSONDecoder().decode(QuantizedModel.self, from: plainData) else {
                run.fail(ValidateStage.name, ValidateStage.number, SearchStageError(message: "the quantized model could not be read back"))
                break pipeline
            }
            let gate = options.maxAccuracyDrop ?? budget.maxAccuracyDrop
            guard run.stage(ValidateStage.name, ValidateStage.number, components: [
                "stage": ValidateStage.name, "impl": "2", "tool": tool, "graph": graphID, "quantized": SHA256.hex(qData),
                "plain": SHA256.hex(plainData), "calibration": calDigest, "validation": valDigest, "gate": gate.map { "\($0)" } ?? "",
            ], { log in
                let g = try graph(log)
                let (data, _) = try dataAndStats(log)
                let result = QuantizeStage.Result(model: qModel, withoutBiasCorrection: plain, policy: policy, policySource: policySource)
                let v = try ValidateStage.run(graph: g, quantized: result, data: data, maxAccuracyDrop: gate, threads: options.threads, log: log)
                var r = RunReport(model: folder, file: model.lastPathComponent)
                r.validation = ValidationReport(v)
                return try StageOutput(files: ["validation.json": jsonData(v)], report: r, markdown: ValidationReport.markdown(v))
            }) != nil else { break pipeline }

            // Codegen runs only for a model that passed validation.
            if last >= 4, run.report.validation?.passed ?? true, let resources = options.resources {
                let scratch = (options.cacheDirectory ?? FileManager.default.temporaryDirectory).appendingPathComponent("tmp/codegen-\(folder)-\(getpid())")
                let toolIDs = ["cc", "arm-none-eabi-gcc", "qemu-system-arm"].map { Toolchain.find($0)?.path ?? "none" }.joined(separator: ",")
                let runtimeDigest = (try? ["nnk.c", "nnk.h", "test_main.c", "port/cortex-m/startup.c", "port/cortex-m/semihost.c", "port/cortex-m/link.ld.in", "qemu/icount.c"]
                    .map { try fileDigest(resources.directory.appendingPathComponent("runtime/\($0)")) }.joined()) ?? "missing"
                _ = run.stage(CodegenStage.name, CodegenStage.number, components: [
                    "stage": CodegenStage.name, "impl": "2", "tool": tool, "graph": graphID, "quantized": SHA256.hex(qData),
                    "budget": "\(budget.flash)/\(budget.ram)", "validation": valDigest, "calibration": calDigest, "toolchain": toolIDs,
                    "runtime": runtimeDigest,
                ], { log in
                    let g = try graph(log)
                    let (data, _) = try dataAndStats(log)
                    let (o, files) = try CodegenStage.run(model: qModel, graph: g, name: folder, budget: budget, resources: resources,
                                                         testInput: data.validation.item(0), scratch: scratch, log: log)
                    var r = RunReport(model: folder, file: model.lastPathComponent)
                    r.codegen = CodegenReport(o)
                    return StageOutput(files: files, report: r, markdown: CodegenReport.markdown(o))
                })
            }

            // The gates, checked on the merged report (so a cached validation still fails).
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
        if options.dryRun {
            return ModelRun(model: folder, outputFolder: options.outputDirectory.appendingPathComponent(folder), exitCode: .ok,
                            message: run.explanations.joined(separator: "\n"))
        }
        return run.publish(to: options.outputDirectory.appendingPathComponent(folder))
    }

    /// `--policy`, else `NAME.policy.json` beside the model when it exists.
    func givenPolicyFile(model: URL) -> URL? {
        let beside = model.deletingPathExtension().appendingPathExtension("policy.json")
        return options.policy ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil)
    }

    /// The policy file or uniform bits that replace the search, with a digest for the cache key.
    func givenPolicySource(model: URL) throws -> (name: String, digest: String)? {
        if let url = givenPolicyFile(model: model) { return (url.lastPathComponent, try fileDigest(url)) }
        if let b = options.uniformBits { return ("uniform \(b)-bit weights and activations (--bits)", "bits:\(b)") }
        return nil
    }

    /// The policy that replaces the search, loaded and checked against the graph.
    func givenPolicy(model: URL, graph: Graph) throws -> (Policy, String)? {
        if let url = givenPolicyFile(model: model) { return (try Policy.load(url, graph: graph), url.lastPathComponent) }
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
