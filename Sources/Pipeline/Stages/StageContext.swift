import Foundation
import Graph
import Import
import Kernels
import Quantize
import Search
import Codegen

/// What the stages of one output folder share: the run's fixed inputs, the products of the
/// stages so far (fresh or restored from the cache), the report merged so far, and, computed on
/// first use only (a fully cached run never parses), the graph, the data and its statistics.
final class StageContext {
    let model: URL
    /// The output folder's name; also the generated C's identifier.
    let folder: String
    let options: RunOptions
    let budget: Budget
    let inputShape: [Int]?
    /// The shape of the calibration `x` with a batch of 1: it fixes the input dimensions the
    /// model leaves free (the batch size does not matter).
    let dataShape: [Int]?
    let modelDigest: String
    let calibrationFile: URL?
    let validationFile: URL?
    let calibrationDigest: String
    let validationDigest: String
    /// A policy file or `--bits` that replaces the search, with a digest for the keys.
    let given: (name: String, digest: String)?
    let store: ArtifactStore?
    /// The report merged over the stages so far (the runner keeps it current).
    var report: RunReport
    /// Each finished stage's products, by stage name.
    var products: [String: StageResult] = [:]

    private var graphMemo: Graph?
    private var dataMemo: (ModelData, CalibrationStats)?
    private let calibrationMemo: CalibrationMemo?

    /// Reads the digests of everything the keys need; fails (as a parse failure) when the model
    /// file cannot be read.
    init(model: URL, folder: String, options: RunOptions, budget: Budget, store: ArtifactStore?, calibration: CalibrationMemo? = nil) throws {
        self.calibrationMemo = calibration
        self.model = model
        self.folder = folder
        self.options = options
        self.budget = budget
        self.store = store
        inputShape = options.inputShape ?? budget.inputShape
        do { modelDigest = try fileDigest(model) } catch {
            throw ImportError(file: model.lastPathComponent, "cannot read the file: \(error.localizedDescription)")
        }
        let dataURL = options.data ?? budget.data.map { URL(fileURLWithPath: $0) }
        let valURL = options.validationData ?? budget.validationData.map { URL(fileURLWithPath: $0) }
        (calibrationFile, validationFile) = ModelData.files(model: model, data: dataURL, validationData: valURL)
        dataShape = calibrationFile.flatMap { try? NumPy.load($0)["x"]?.shape }.map { [1] + $0.dropFirst() }
        calibrationDigest = (calibrationFile.flatMap { try? fileDigest($0) }) ?? "synthetic"
        validationDigest = (validationFile.flatMap { try? fileDigest($0) }) ?? "none"
        given = try? Self.givenPolicySource(model: model, options: options)
        report = RunReport(model: folder, file: model.lastPathComponent)
    }

    /// An empty report for a stage to fill in its part.
    func emptyReport() -> RunReport { RunReport(model: folder, file: model.lastPathComponent) }

    // MARK: Key components

    /// The value of one key component (a digest, or a short canonical text).
    func value(of input: StageInput) throws -> String {
        switch input {
        case .model: return modelDigest
        case .inputShape: return inputShape.map { "\($0)" } ?? ""
        case .dataShape: return dataShape.map { "\($0)" } ?? ""
        case .graph: return modelDigest + (inputShape.map { "@\($0)" } ?? "") + (dataShape.map { "#\($0)" } ?? "")
        case .budget:
            var b = budget
            b.file = ""
            b.data = nil
            b.validationData = nil
            b.maxAccuracyDrop = nil
            b.target = ""
            return canonicalJSON(b)
        case .memoryBudget: return "\(budget.flash)/\(budget.ram)"
        case .rounding: return budget.rounding.rawValue
        case .sensitivityBits: return "\(SearchStage.sensitivityBits(budget))"
        case .calibration: return calibrationDigest
        case .validation: return validationDigest
        case .given: return given?.digest ?? ""
        case .policy: return SHA256.hex(try product(SearchStage.name, "policy.json"))
        case .quantized: return SHA256.hex(try product(QuantizeStage.name, "quantized.json"))
        case .plain: return SHA256.hex(try product(QuantizeStage.name, QuantizeStage.withoutBiasCorrectionFile, cacheOnly: true))
        case .gate: return gate.map { "\($0)" } ?? ""
        case .outputName: return folder
        case .runtime: return options.resources.map { CodeDigest.folder($0.runtime) } ?? "none"
        case .targets:
            guard let r = options.resources else { return "none" }
            // The built targets by name; every profile by content (the Makefile lists them all).
            return CodegenStage.targets(self).joined(separator: ",") + " " + CodeDigest.folder(r.directory.appendingPathComponent("targets"))
        case .toolchain: return ["cc", "arm-none-eabi-gcc", "qemu-system-arm"].map { Toolchain.find($0)?.path ?? "none" }.joined(separator: ",")
        }
    }

    var gate: Double? { options.maxAccuracyDrop ?? budget.maxAccuracyDrop }

    // MARK: Products of earlier stages

    /// A file an earlier stage produced (published, or kept in the cache only when `cacheOnly`).
    func product(_ stage: String, _ file: String, cacheOnly: Bool = false) throws -> Data {
        guard let r = products[stage], let d = cacheOnly ? r.internalFiles[file] : r.files[file] else {
            throw SearchStageError(message: "the \(stage) stage produced no \(file)")
        }
        return d
    }

    /// The policy the search chose (or the given one), as `policy.json` holds it.
    func policy() throws -> Policy {
        do { return try JSONDecoder().decode(Policy.self, from: try product(SearchStage.name, "policy.json")) } catch {
            throw SearchStageError(message: "the search produced no readable policy.json: \(error)")
        }
    }

    /// Where the policy came from, for the quantize log and report.
    var policySource: String { given?.name ?? "search (\(report.search?.method ?? budget.search.method))" }

    /// The quantized model, with and without bias correction.
    func quantized() throws -> (model: QuantizedModel, withoutBiasCorrection: QuantizedModel) {
        do {
            return (try JSONDecoder().decode(QuantizedModel.self, from: try product(QuantizeStage.name, "quantized.json")),
                    try JSONDecoder().decode(QuantizedModel.self, from: try product(QuantizeStage.name, QuantizeStage.withoutBiasCorrectionFile, cacheOnly: true)))
        } catch {
            throw SearchStageError(message: "the quantized model could not be read back: \(error)")
        }
    }

    // MARK: Computed once, on first use

    func keep(graph: Graph) { graphMemo = graph }

    func graph(_ log: StageLog) throws -> Graph {
        if let g = graphMemo { return g }
        let (g, _) = try ParseStage.run(model: model, inputShape: inputShape, dataShape: dataShape, log: log)
        graphMemo = g
        return g
    }

    /// The calibration and validation data (the given files, else `NAME.npz` / `NAME.val.npz`,
    /// else synthetic) and the calibration statistics.
    func dataAndStats(_ log: StageLog) throws -> (ModelData, CalibrationStats) {
        if let d = dataMemo { return d }
        let memoKey = [try value(of: .graph), calibrationDigest, validationDigest].joined(separator: "|")
        if let d = calibrationMemo?.get(memoKey) {
            log.line("calibration statistics reused from an earlier budget of this run (same graph and data)")
            dataMemo = d
            return d
        }
        let g = try graph(log)
        let data = try ModelData.load(model: model, graph: g, calibration: calibrationFile, validation: validationFile, log: log)
        log.line("calibrating on \(data.calibration.shape[0]) inputs (\(data.synthetic ? "SYNTHETIC" : "from data"))")
        let stats = try Calibrator.collect(graph: g, inputs: data.calibration, synthetic: data.synthetic, threads: options.threads) { log.line($0) }
        try data.check(stats, graph: g)
        dataMemo = (data, stats)
        calibrationMemo?.set(memoKey, (data, stats))
        return (data, stats)
    }

    // MARK: Sub-steps with a cache entry of their own

    /// `step`'s cached value when its key is in the cache, else `compute()`, stored under it.
    func cached<T: Codable>(_ step: any CachedStep.Type, log: StageLog, _ compute: () throws -> T) throws -> T {
        let key = cacheKey(try step.key(self))
        if let store, let rec = store.record(stage: step.name, key: key), let blob = store.get(rec.product),
           let value = try? JSONDecoder().decode(T.self, from: blob) {
            log.line("\(step.name) restored from cache (key \(key.prefix(16)))")
            return value
        }
        let value = try compute()
        if let store, let blob = try? JSONEncoder().encode(value), let digest = try? store.put(blob) {
            try? store.save(RunRecord(stage: step.name, key: key, components: [:], product: digest, createdAt: Date()))
        }
        return value
    }

    // MARK: A policy instead of the search

    /// `--policy`, else `NAME.policy.json` beside the model when it exists.
    static func givenPolicyFile(model: URL, options: RunOptions) -> URL? {
        let beside = model.deletingPathExtension().appendingPathExtension("policy.json")
        return options.policy ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil)
    }

    static func givenPolicySource(model: URL, options: RunOptions) throws -> (name: String, digest: String)? {
        if let url = givenPolicyFile(model: model, options: options) { return (url.lastPathComponent, try fileDigest(url)) }
        if let b = options.uniformBits { return ("uniform \(b)-bit weights and activations (--bits)", "bits:\(b)") }
        return nil
    }

    /// The policy that replaces the search, loaded and checked against the graph.
    func givenPolicy(graph: Graph) throws -> (Policy, String)? {
        if let url = Self.givenPolicyFile(model: model, options: options) {
            if let problem = RegularFile.problem(url) { throw PolicyError(file: url.lastPathComponent, field: nil, problem) }
            return (try Policy.load(url, graph: graph), url.lastPathComponent)
        }
        if let b = options.uniformBits {
            guard Policy.allowedBits.contains(b) else { throw UsageError("--bits must be 2, 4 or 8, got \(b)") }
            return (Policy.uniform(b), "uniform \(b)-bit weights and activations (--bits)")
        }
        return nil
    }
}

extension PipelineResources {
    /// The C runtime codegen ships.
    var runtime: URL { directory.appendingPathComponent("runtime") }

    /// A target's profile, `targets/NAME.json`.
    func targetProfile(_ name: String) -> URL { directory.appendingPathComponent("targets/\(name).json") }
}
