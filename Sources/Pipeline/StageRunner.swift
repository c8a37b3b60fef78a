import Foundation
import Graph
import Kernels
import Quantize
import Search

/// What a stage body returns: file contents and its part of the report.
struct StageOutput {
    var files: [String: Data]
    var internalFiles: [String: Data] = [:]
    var report: RunReport
    var markdown: String

    init(files: [String: Data], internalFiles: [String: Data] = [:], report: RunReport, markdown: String) {
        self.files = files
        self.internalFiles = internalFiles
        self.report = report
        self.markdown = markdown
    }
}

/// The products of a stage, as the next stages read them (fresh or restored from the cache).
struct StageResult {
    var files: [String: Data]
    var internalFiles: [String: Data]
}

/// Runs the stages of one output folder: each stage either restores its product from the cache
/// (same key) or runs, logging why; then everything is published in one atomic swap.
struct StageRunner {
    let folder: String
    let model: URL
    let store: ArtifactStore?
    let say: @Sendable (String) -> Void
    var report: RunReport
    var exit = ExitCode.ok
    var message = "ok"
    var files: [(String, Data)] = []
    var sections: [String] = []
    var dryRun = false
    /// What each stage did or would do (for `explain`).
    var explanations: [String] = []

    init(folder: String, model: URL, store: ArtifactStore?, say: @escaping @Sendable (String) -> Void) {
        self.folder = folder
        self.model = model
        self.store = store
        self.say = say
        report = RunReport(model: folder, file: model.lastPathComponent)
    }

    static func logPath(_ stage: String, _ number: Int) -> String { String(format: "logs/%02d-%@.log", number, stage) }

    /// Restores or runs one stage. Returns nil (and records the failure) when it fails.
    mutating func stage(_ name: String, _ number: Int, components: [String: String], _ body: (StageLog) throws -> StageOutput) -> StageResult? {
        if Cancellation.isCancelled {
            fail(name, number, CancellationError())
            return nil
        }
        let key = cacheKey(components)
        let log = StageLog(stage: name)
        let logPath = Self.logPath(name, number)
        // A cache hit: restore the product and its original log.
        if let store, let rec = store.record(stage: name, key: key), let blob = store.get(rec.product),
           let product = try? JSONDecoder().decode(StageProduct.self, from: blob),
           let restored = restore(product, store) {
            log.line("restored from cache: key \(key.prefix(16)), computed \(ISO8601DateFormatter().string(from: rec.createdAt)); nothing it depends on changed")
            explanations.append("\(name): cached (key \(key.prefix(16)))")
            var text = log.text
            if let original = restored.internalFiles["log"] { text += "--- log of the original run ---\n" + String(decoding: original, as: UTF8.self) }
            files.append((logPath, Data(text.utf8)))
            for (n, d) in restored.files { files.append((n, d)) }
            if let r = try? JSONDecoder().decode(RunReport.self, from: product.report) { report.merge(r) }
            sections.append(product.markdown)
            report.stages[name] = .init(status: "ok", cached: true, seconds: log.seconds, log: logPath)
            if !dryRun { store.saveLast(output: folder, stage: name, components: components) }
            return restored
        }
        if dryRun {
            explanations.append("\(name): would run (\(explain(name, components))); the stages after it would run too unless its output is unchanged")
            return nil
        }
        log.line("ran: " + explain(name, components))
        log.line("key \(key.prefix(16)): " + components.sorted { $0.key < $1.key }.filter { $0.key != "stage" }.map { "\($0.key)=\($0.value.prefix(24))" }.joined(separator: " "))
        do {
            let out = try body(log)
            log.line(String(format: "finished in %.3f s", log.seconds))
            report.stages[name] = .init(status: "ok", cached: false, seconds: log.seconds, log: logPath)
            report.merge(out.report)
            sections.append(out.markdown)
            for (n, d) in out.files.sorted(by: { $0.key < $1.key }) { files.append((n, d)) }
            files.append((logPath, Data(log.text.utf8)))
            if let store {
                do {
                    var product = StageProduct()
                    for (n, d) in out.files { product.files[n] = try store.put(d) }
                    for (n, d) in out.internalFiles { product.internalFiles[n] = try store.put(d) }
                    product.internalFiles["log"] = try store.put(Data(log.text.utf8))
                    product.report = try JSONEncoder().encode(out.report)
                    product.markdown = out.markdown
                    let digest = try store.put(try JSONEncoder().encode(product))
                    try store.save(RunRecord(stage: name, key: key, components: components, product: digest, createdAt: Date()))
                    store.saveLast(output: folder, stage: name, components: components)
                } catch {
                    say("warning: could not store the \(name) result in the cache: \(error)")
                }
            }
            return StageResult(files: out.files, internalFiles: out.internalFiles)
        } catch {
            log.line("error: \(error)")
            log.line(String(format: "failed after %.3f s", log.seconds))
            files.append((logPath, Data(log.text.utf8)))
            record(failure: error, stage: name, logPath: logPath, seconds: log.seconds)
            return nil
        }
    }

    /// Records a failure of `stage` that happened before its body could run.
    mutating func fail(_ stage: String, _ number: Int, _ error: Error) {
        let log = StageLog(stage: stage)
        log.line("error: \(error)")
        let path = Self.logPath(stage, number)
        files.append((path, Data(log.text.utf8)))
        record(failure: error, stage: stage, logPath: path, seconds: 0)
    }

    mutating func record(failure error: Error, stage: String, logPath: String, seconds: Double) {
        report.stages[stage] = .init(status: "failed", cached: false, seconds: seconds, log: logPath)
        report.error = "\(error)"
        message = "\(error)"
        switch error {
        case is UsageError, is PolicyError, is BudgetError: exit = .usage
        case is InfeasibleBudget: exit = .validationFailed
        case is CancellationError: exit = .interrupted
        default: exit = .stageFailed
        }
    }

    func restore(_ p: StageProduct, _ store: ArtifactStore) -> StageResult? {
        var files: [String: Data] = [:], internalFiles: [String: Data] = [:]
        for (n, d) in p.files {
            guard let b = store.get(d) else { return nil }
            files[n] = b
        }
        for (n, d) in p.internalFiles {
            guard let b = store.get(d) else { return nil }
            internalFiles[n] = b
        }
        return StageResult(files: files, internalFiles: internalFiles)
    }

    /// Why a stage runs: which key components differ from its last run for this output.
    func explain(_ stage: String, _ components: [String: String]) -> String {
        guard let store else { return "no cache" }
        guard let last = store.lastComponents(output: folder, stage: stage) else { return "no earlier run for this output" }
        let changed = Set(components.keys).union(last.keys).filter { components[$0] != last[$0] }.sorted()
        if changed.isEmpty { return "the cached result was missing or damaged" }
        let names = ["model": "the model file", "budget": "the budget", "calibration": "the calibration data", "validation": "the validation data",
                     "graph": "the parsed graph", "policy": "the policy", "quantized": "the quantized model", "plain": "the quantized model",
                     "tool": "the tool version", "impl": "the stage implementation", "inputShape": "the input shape", "given": "the given policy",
                     "gate": "the accuracy gate", "dataShape": "the shape of the data"]
        return "changed: " + changed.map { names[$0] ?? $0 }.joined(separator: ", ")
    }

    /// Writes report.json, report.md, report.html and everything gathered, then swaps it in.
    func publish(to target: URL) -> ModelRun {
        do {
            var all = files
            all.append(("report.json", try jsonData(report)))
            all.append(("report.md", Data(report.markdown(sections: sections).utf8)))
            all.append(("report.html", Data(HTMLReport.render(report).utf8)))
            all.append(("manifest.json", try jsonData(Manifest(report: report, files: all))))
            let staged = try StagedFolder(target: target)
            do {
                for (path, data) in all { try staged.write(path, data) }
                if Cancellation.isCancelled { throw CancellationError() }
                try staged.publish()
            } catch {
                staged.discard()
                throw error
            }
        } catch is CancellationError {
            return ModelRun(model: folder, outputFolder: target, exitCode: .interrupted, message: "interrupted; the previous outputs are intact")
        } catch {
            return ModelRun(model: folder, outputFolder: target, exitCode: .stageFailed, message: "cannot write outputs: \(error)")
        }
        return ModelRun(model: folder, outputFolder: target, exitCode: exit, message: message)
    }
}

/// `manifest.json`, written last: every published file with its digest, and the stage status.
struct Manifest: Encodable {
    var tool = ToolInfo.version
    var model: String
    var stages: [String: RunReport.StageStatus]
    var files: [String: String]

    init(report: RunReport, files: [(String, Data)]) {
        model = report.model
        stages = report.stages
        var f: [String: String] = [:]
        for (n, d) in files { f[n] = SHA256.hex(d) }
        self.files = f
    }
}

/// A request to stop (SIGTERM/SIGINT): long loops check it (`Interrupt`), stages check it
/// between steps, and the publish is skipped.
public enum Cancellation {
    public static var isCancelled: Bool { Interrupt.requested }
    public static func cancel() { Interrupt.request() }
}

typealias CancellationError = Interrupted

func canonicalJSON<T: Encodable>(_ v: T) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return String(decoding: (try? e.encode(v)) ?? Data(), as: UTF8.self)
}
