import Foundation
import Graph
import Import
import Quantize

/// Exit codes shared by the CLI and CI (DESIGN.md).
public enum ExitCode: Int32, Sendable {
    case ok = 0, stageFailed = 1, usage = 2, validationFailed = 3, noInputs = 4, lockBusy = 9
}

public struct RunOptions: Sendable {
    public var outputDirectory: URL
    public var threads: Int
    public var inputShape: [Int]?
    /// Last stage to run ("parse", "quantize" or "validate").
    public var until: String
    /// A policy file; else NAME.policy.json beside the model; else `uniformBits` everywhere.
    public var policy: URL?
    public var uniformBits: Int
    public var data: URL?
    public var validationData: URL?
    public var maxAccuracyDrop: Double?

    public init(outputDirectory: URL, threads: Int = 2, inputShape: [Int]? = nil, until: String = "validate", policy: URL? = nil,
                uniformBits: Int = 8, data: URL? = nil, validationData: URL? = nil, maxAccuracyDrop: Double? = nil) {
        self.outputDirectory = outputDirectory
        self.threads = threads
        self.inputShape = inputShape
        self.until = until
        self.policy = policy
        self.uniformBits = uniformBits
        self.data = data
        self.validationData = validationData
        self.maxAccuracyDrop = maxAccuracyDrop
    }

    public static let stageOrder = ["parse", "quantize", "validate"]
}

/// The outcome for one model.
public struct ModelRun: Sendable {
    public var model: String
    public var outputFolder: URL
    public var exitCode: ExitCode
    public var message: String
}

/// Runs the stages for each model and publishes `output/NAME/` atomically.
public struct PipelineRunner {
    public var options: RunOptions
    /// Progress lines for the terminal.
    public var say: @Sendable (String) -> Void

    public init(options: RunOptions, say: @escaping @Sendable (String) -> Void) {
        self.options = options
        self.say = say
    }

    public func run(model: URL) -> ModelRun {
        let name = Names.fileName(model.deletingPathExtension().lastPathComponent)
        let target = options.outputDirectory.appendingPathComponent(name)
        var report = RunReport(model: name, file: model.lastPathComponent)
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
                exit = (error is UsageError || error is PolicyError) ? .usage : .stageFailed
                message = "\(error)"
                return nil
            }
        }

        pipeline: do {
            guard let (graph, summary) = stage(ParseStage.name, ParseStage.number, { log in
                try ParseStage.run(model: model, inputShape: options.inputShape, log: log)
            }) else { break pipeline }
            if let d = try? jsonData(summary) { files.append(("graph.json", d)) }
            report.graph = summary.totals
            sections.append(summary.markdown)
            guard last >= 1 else { break pipeline }

            guard let (q, data) = stage(QuantizeStage.name, QuantizeStage.number, { log -> (QuantizeStage.Result, ModelData) in
                let (policy, source) = try resolvePolicy(model: model, graph: graph)
                let data = try ModelData.load(model: model, graph: graph, data: options.data, validationData: options.validationData, log: log)
                return (try QuantizeStage.run(graph: graph, policy: policy, policySource: source, data: data, threads: options.threads, log: log), data)
            }) else { break pipeline }
            if let d = try? jsonData(q.model) { files.append(("quantized.json", d)) }
            report.policy = PolicyReport(q.model, source: q.policySource)
            report.quantize = .init(parameterBytes: q.model.parameterBytes, layers: q.model.layers.count)
            sections.append(report.policy!.markdown(q.model))
            guard last >= 2 else { break pipeline }

            guard let v = stage(ValidateStage.name, ValidateStage.number, { log in
                try ValidateStage.run(graph: graph, quantized: q, data: data, maxAccuracyDrop: options.maxAccuracyDrop, threads: options.threads, log: log)
            }) else { break pipeline }
            if let d = try? jsonData(v) { files.append(("validation.json", d)) }
            report.validation = ValidationReport(v)
            sections.append(ValidationReport.markdown(v))
            if !v.passed {
                report.stages[ValidateStage.name]?.status = "failed"
                exit = .validationFailed
                message = String(format: "accuracy dropped %.2f points, more than the allowed %.2f", v.accuracyDrop ?? 0, v.maxAccuracyDrop ?? 0)
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
            return ModelRun(model: name, outputFolder: target, exitCode: .stageFailed, message: "cannot write outputs: \(error)")
        }
        return ModelRun(model: name, outputFolder: target, exitCode: exit, message: message)
    }

    func resolvePolicy(model: URL, graph: Graph) throws -> (Policy, String) {
        let beside = model.deletingPathExtension().appendingPathExtension("policy.json")
        if let url = options.policy ?? (FileManager.default.fileExists(atPath: beside.path) ? beside : nil) {
            return (try Policy.load(url, graph: graph), url.lastPathComponent)
        }
        guard Policy.allowedBits.contains(options.uniformBits) else { throw UsageError("--bits must be 2, 4 or 8, got \(options.uniformBits)") }
        return (Policy.uniform(options.uniformBits), "uniform \(options.uniformBits)-bit weights and activations")
    }
}

func jsonData<T: Encodable>(_ v: T) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var d = try e.encode(v)
    d.append(0x0a)
    return d
}
