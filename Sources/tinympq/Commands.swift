import Foundation
import Graph
import Import
import Pipeline
import Quantize

/// Prints to standard error.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

enum Commands {
    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["out", "threads", "input-shape", "until", "policy", "bits", "budget", "data", "validation-data", "max-accuracy-drop", "cache"],
                              allowedFlags: ["no-cache", "no-wait", "explain-internal"])
        if a.flags.contains("help") {
            print(Help.run)
            return .ok
        }
        let paths = (a.positionals.isEmpty ? ["watched"] : a.positionals).map { URL(fileURLWithPath: $0) }
        let out = URL(fileURLWithPath: a.options["out"] ?? "output")
        let until = a.options["until"] ?? "codegen"
        guard RunOptions.stageOrder.contains(until) else { throw UsageError("--until must be one of \(RunOptions.stageOrder.joined(separator: ", ")), got '\(until)'") }
        var gate: Double? = nil
        if let g = a.options["max-accuracy-drop"] {
            guard let v = Double(g), v >= 0 else { throw UsageError("--max-accuracy-drop must be a non-negative number of percentage points, got '\(g)'") }
            gate = v
        }
        var bits: Int? = nil
        if a.options["bits"] != nil {
            bits = try a.int("bits", default: 8, range: 2...8)
            guard [2, 4, 8].contains(bits!) else { throw UsageError("--bits must be 2, 4 or 8, got \(bits!)") }
        }
        let options = RunOptions(outputDirectory: out, threads: try a.int("threads", default: 2, range: 1...64),
                                 inputShape: try a.shape("input-shape"), until: until, policy: a.options["policy"].map { URL(fileURLWithPath: $0) },
                                 uniformBits: bits, budget: a.options["budget"].map { URL(fileURLWithPath: $0) }, data: a.options["data"].map { URL(fileURLWithPath: $0) },
                                 validationData: a.options["validation-data"].map { URL(fileURLWithPath: $0) }, maxAccuracyDrop: gate,
                                 cacheDirectory: a.flags.contains("no-cache") ? nil : cacheDirectory(a, out: out))
        let models = try Discovery.models(paths)
        guard !models.isEmpty else {
            warn("tinympq: no models (*.onnx) found in \(paths.map(\.path).joined(separator: ", "))")
            return .noInputs
        }
        if a.flags.contains("explain-internal") {
            var o = options
            o.dryRun = true
            let runner = PipelineRunner(options: o) { _ in }
            for m in models { for r in runner.run(model: m) { print("\(r.model):\n  " + r.message.replacingOccurrences(of: "\n", with: "\n  ")) } }
            return .ok
        }
        // One run at a time per cache (daemon and one-shot runs share the lock).
        let lockDir = options.cacheDirectory ?? out
        guard let lock = try PipelineLock(directory: lockDir, wait: !a.flags.contains("no-wait")) else {
            warn("tinympq: another tinympq run or daemon holds the lock in \(lockDir.path) (--no-wait given)")
            return .lockBusy
        }
        defer { withExtendedLifetime(lock) {} }
        Signals.installCancellation()
        let runner = PipelineRunner(options: options) { print($0) }
        var worst = ExitCode.ok
        for m in models {
            for r in runner.run(model: m) {
            if r.exitCode == .ok {
                print("\(r.model): ok -> \(r.outputFolder.path)/report.md")
            } else {
                warn("\(r.model): FAILED: \(r.message)\n  details: \(r.outputFolder.path)/report.md")
                if worst == .ok || r.exitCode.rawValue < worst.rawValue { worst = r.exitCode }
            }
            }
        }
        if Cancellation.isCancelled { return Signals.exitCode }
        return worst
    }

    /// `--cache DIR`, else `.tinympq-cache` beside the output folder.
    static func cacheDirectory(_ a: Arguments, out: URL) -> URL {
        if let c = a.options["cache"] { return URL(fileURLWithPath: c) }
        return out.standardizedFileURL.deletingLastPathComponent().appendingPathComponent(".tinympq-cache")
    }

    static func infer(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["input", "output", "threads", "input-shape", "quantized"], allowedFlags: [])
        if a.flags.contains("help") {
            print(Help.infer)
            return .ok
        }
        guard a.positionals.count == 1 else { throw UsageError("infer needs exactly one MODEL (see tinympq infer --help)") }
        guard let input = a.options["input"], let output = a.options["output"] else {
            throw UsageError("infer needs --input X.npy and --output Y.npy")
        }
        let threads = try a.int("threads", default: 2, range: 1...64)
        let inputURL = URL(fileURLWithPath: input)
        let arrays = try NumPy.load(inputURL)
        guard let x = arrays["x"] ?? (arrays.count == 1 ? arrays.first?.value : nil) else {
            throw DataError(file: inputURL.lastPathComponent, field: "x", "no array named 'x' in the archive (found \(arrays.keys.sorted()))")
        }
        // The data's shape fixes the dimensions the model leaves free.
        let graph = try ModelFile.load(URL(fileURLWithPath: a.positionals[0]), inputShape: try a.shape("input-shape"), dataShape: x.shape)
        let want = graph.externalShape(graph.inputs[0])
        guard x.shape.count == want.count, Array(x.shape.dropFirst()) == Array(want.dropFirst()) else {
            throw DataError(file: inputURL.lastPathComponent, field: "x",
                            "has shape \(x.shape), the model expects [N, \(want.dropFirst().map(String.init).joined(separator: ", "))]")
        }
        let y: [Tensor]
        if let folder = a.options["quantized"] {
            let url = URL(fileURLWithPath: folder).appendingPathComponent("quantized.json")
            let model: QuantizedModel
            do { model = try JSONDecoder().decode(QuantizedModel.self, from: Data(contentsOf: url)) } catch {
                throw UsageError("cannot read the quantized model \(url.path): \(error.localizedDescription); run `tinympq run` on the model first")
            }
            y = try IntegerEngine(model: model, threads: threads).run(graph.toLogical(x.tensor))
        } else {
            y = try FloatEngine(graph: graph, threads: threads).run(graph.toLogical(x.tensor))
        }
        let outURL = URL(fileURLWithPath: output)
        if y.count == 1 {
            try NumPy.npyData(graph.toExternal(y[0])).write(to: outURL)
            print("wrote \(output): shape \(graph.toExternal(y[0]).shape)")
        } else {
            // Every output, one array per output name.
            let named = zip(graph.outputs, y).map { (name: $0, tensor: graph.toExternal($1)) }
            try NumPy.npzData(named).write(to: outURL)
            print("wrote \(output): " + named.map { "\($0.name) \($0.tensor.shape)" }.joined(separator: ", "))
        }
        return .ok
    }
}
