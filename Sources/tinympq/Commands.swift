import Foundation
import Graph
import Import
import Pipeline

/// Prints to standard error.
func warn(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

enum Commands {
    static func run(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["out", "threads", "input-shape"], allowedFlags: [])
        if a.flags.contains("help") {
            print(Help.run)
            return .ok
        }
        let paths = (a.positionals.isEmpty ? ["watched"] : a.positionals).map { URL(fileURLWithPath: $0) }
        let out = URL(fileURLWithPath: a.options["out"] ?? "output")
        let options = RunOptions(outputDirectory: out, threads: try a.int("threads", default: 2, range: 1...64),
                                 inputShape: try a.shape("input-shape"))
        let models = try Discovery.models(paths)
        guard !models.isEmpty else {
            warn("tinympq: no models (*.onnx) found in \(paths.map(\.path).joined(separator: ", "))")
            return .noInputs
        }
        let runner = PipelineRunner(options: options) { print($0) }
        var worst = ExitCode.ok
        for m in models {
            let r = runner.run(model: m)
            if r.exitCode == .ok {
                print("\(r.model): ok -> \(r.outputFolder.path)/report.md")
            } else {
                warn("\(r.model): FAILED: \(r.message)\n  details: \(r.outputFolder.path)/report.md")
                if worst == .ok || r.exitCode == .stageFailed { worst = r.exitCode }
            }
        }
        return worst
    }

    static func infer(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["input", "output", "threads", "input-shape"], allowedFlags: [])
        if a.flags.contains("help") {
            print(Help.infer)
            return .ok
        }
        guard a.positionals.count == 1 else { throw UsageError("infer needs exactly one MODEL (see tinympq infer --help)") }
        guard let input = a.options["input"], let output = a.options["output"] else {
            throw UsageError("infer needs --input X.npy and --output Y.npy")
        }
        let threads = try a.int("threads", default: 2, range: 1...64)
        let graph = try OnnxImporter.load(URL(fileURLWithPath: a.positionals[0]), inputShape: try a.shape("input-shape"))
        let arrays = try NumPy.load(URL(fileURLWithPath: input))
        guard let x = arrays["x"] ?? (arrays.count == 1 ? arrays.first?.value : nil) else {
            throw DataError(file: URL(fileURLWithPath: input).lastPathComponent, field: "x", "no array named 'x' in the archive (found \(arrays.keys.sorted()))")
        }
        let engine = try FloatEngine(graph: graph, threads: threads)
        let want = graph.shape(graph.inputs[0])
        guard x.shape.count == want.count, Array(x.shape.dropFirst()) == Array(want.dropFirst()) else {
            throw DataError(file: URL(fileURLWithPath: input).lastPathComponent, field: "x",
                            "has shape \(x.shape), the model expects [N, \(want.dropFirst().map(String.init).joined(separator: ", "))]")
        }
        let y = try engine.run(x.tensor)
        try NumPy.npyData(y[0]).write(to: URL(fileURLWithPath: output))
        print("wrote \(output): shape \(y[0].shape)")
        return .ok
    }
}
