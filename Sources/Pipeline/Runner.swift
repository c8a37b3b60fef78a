import Foundation
import Graph
import Import

/// Exit codes shared by the CLI and CI (DESIGN.md).
public enum ExitCode: Int32, Sendable {
    case ok = 0, stageFailed = 1, usage = 2, validationFailed = 3, noInputs = 4, lockBusy = 9
}

public struct RunOptions: Sendable {
    public var outputDirectory: URL
    public var threads: Int
    public var inputShape: [Int]?

    public init(outputDirectory: URL, threads: Int = 2, inputShape: [Int]? = nil) {
        self.outputDirectory = outputDirectory
        self.threads = threads
        self.inputShape = inputShape
    }
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
        let log = StageLog(stage: ParseStage.name)
        var report = RunReport(model: name, file: model.lastPathComponent)
        var exit = ExitCode.ok
        var message = "ok"
        var files: [(String, Data)] = []
        var sections: [String] = []
        do {
            log.line("ran: no earlier result for this model (no cache yet)")
            let (_, summary) = try ParseStage.run(model: model, inputShape: options.inputShape, log: log)
            files.append(("graph.json", try jsonData(summary)))
            report.graph = summary.totals
            sections.append(summary.markdown)
            report.stages[ParseStage.name] = .init(status: "ok", cached: false, seconds: log.seconds, log: "logs/01-parse.log")
        } catch {
            log.line("error: \(error)")
            report.stages[ParseStage.name] = .init(status: "failed", cached: false, seconds: log.seconds, log: "logs/01-parse.log")
            report.error = "\(error)"
            exit = .stageFailed
            message = "\(error)"
        }
        log.line(String(format: "finished in %.3f s", log.seconds))
        files.append(("logs/01-parse.log", Data(log.text.utf8)))
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
}

func jsonData<T: Encodable>(_ v: T) throws -> Data {
    let e = JSONEncoder()
    e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    var d = try e.encode(v)
    d.append(0x0a)
    return d
}
