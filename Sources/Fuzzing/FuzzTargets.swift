import Foundation
import Graph
import Import
import Kernels
import Pipeline
import Quantize

/// The in-process fuzz entry points: one call per input, no process start. Each reader must
/// either return or throw for any bytes; a trap (overflow, out-of-range index, failed
/// conversion) ends the process and is what the fuzzer looks for.
public enum FuzzTarget: String, CaseIterable, Sendable {
    case onnx, tflite, numpy, budget

    /// File extensions of the seed files for each target.
    public var seedExtensions: [String] {
        switch self {
        case .onnx: return ["onnx"]
        case .tflite: return ["tflite"]
        case .numpy: return ["npz", "npy"]
        case .budget: return ["json"]
        }
    }

    /// Feeds one input to the reader. Models that parse also go through calibration (two
    /// synthetic inputs), the quantizer (uniform 8, 4 or 2 bits) and the integer engine once.
    /// Returns true when the input was accepted by the reader.
    @discardableResult
    public func run(_ bytes: [UInt8]) -> Bool {
        switch self {
        case .onnx:
            guard let g = try? OnnxImporter.load(bytes: bytes, file: "fuzz.onnx", directory: FuzzTarget.emptyFolder) else { return false }
            Self.quantize(g)
            return true
        case .tflite:
            guard let g = try? TFLiteImporter.load(bytes: bytes, file: "fuzz.tflite") else { return false }
            Self.quantize(g)
            return true
        case .numpy:
            return (try? NumPy.parse(bytes, file: "fuzz.npz")) != nil
        case .budget:
            return (try? BudgetFile.parse(data: Data(bytes), file: "fuzz.budget.json", folder: FuzzTarget.emptyFolder, resources: nil)) != nil
        }
    }

    /// Models needing more work than this (output elements × window taps) skip the quantize
    /// path: it is there for arithmetic on odd values, not for speed.
    static let maxQuantizeWork = 1 << 22

    /// parse → calibrate → quantize → integer engine, errors ignored (only traps matter).
    static func quantize(_ g: Graph) {
        guard let input = g.inputs.first else { return }
        // Work: output elements, times the window taps of convolutions and pools.
        var work = 0
        for n in g.nodes {
            var taps = 1
            switch n.op {
            case .conv: taps = n.inputs.count > 1 ? g.shape(n.inputs[1]).dropFirst().reduce(1) { $0 &* Swift.max($1, 1) } : 1
            case .averagePool(let p), .maxPool(let p): taps = p.kernelShape.reduce(1) { $0 &* Swift.max($1, 1) }
            default: break
            }
            work = work &+ g.shape(n.output).reduce(1) { $0 &* Swift.max($1, 1) } &* Swift.max(taps, 1)
        }
        guard work >= 0, work <= maxQuantizeWork, g.nodes.count <= 200 else { return }
        let x = Calibrator.syntheticInputs(shape: g.shape(input), count: 2, seed: 7)
        guard let stats = try? Calibrator.collect(graph: g, inputs: x, synthetic: true, maxSamples: 512, threads: 1) else { return }
        // One bit-width per input (it varies with the graph), to keep inputs per second up.
        let bits = [8, 4, 2][(g.nodes.count &+ g.constants.count) % 3]
        guard let q = try? Quantizer.quantize(graph: g, policy: .uniform(bits), stats: stats, options: .init(biasCorrection: true)),
              let engine = try? IntegerEngine(model: q, threads: 1) else { return }
        _ = try? engine.run(x.item(0))
    }

    /// A folder with nothing in it: external data and budget data paths resolve to nothing.
    nonisolated(unsafe) static var emptyFolder: URL = {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-fuzz-empty")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }()
}
