import Foundation
import Graph
import Import
import Quantize

/// Calibration and validation data for a model, with where it came from.
public struct ModelData: Sendable {
    public var calibration: Tensor
    public var calibrationLabels: [Int64]?
    public var validation: Tensor
    public var validationLabels: [Int64]?
    /// Human-readable provenance, for logs and the report.
    public var source: String
    public var synthetic: Bool
    /// True when validation reuses the calibration data.
    public var validationIsCalibration: Bool

    /// The data files of a model: the given ones, else `NAME.npz` (or `.npy`) for calibration
    /// and `NAME.val.npz` for validation, when they exist.
    public static func files(model: URL, data: URL?, validationData: URL?) -> (calibration: URL?, validation: URL?) {
        let stem = model.deletingPathExtension()
        let exists = { (u: URL) in FileManager.default.fileExists(atPath: u.path) }
        return (data ?? [stem.appendingPathExtension("npz"), stem.appendingPathExtension("npy")].first(where: exists),
                validationData ?? [stem.appendingPathExtension("val.npz")].first(where: exists))
    }

    /// Loads the calibration and validation files (see `files`); without data, synthetic
    /// standard-normal inputs (and no accuracy is claimed).
    public static func load(model: URL, graph: Graph, calibration dataURL: URL?, validation valURL: URL?, log: StageLog) throws -> ModelData {
        let stem = model.deletingPathExtension()
        let inShape = graph.shape(graph.inputs[0])
        guard let dataURL else {
            log.line("NO DATA: no \(stem.lastPathComponent).npz beside the model; calibrating on 32 synthetic standard-normal inputs. No accuracy is claimed.")
            return ModelData(calibration: Calibrator.syntheticInputs(shape: inShape, count: 32, seed: 1), calibrationLabels: nil,
                             validation: Calibrator.syntheticInputs(shape: inShape, count: 32, seed: 2), validationLabels: nil,
                             source: "synthetic standard-normal inputs (no data file)", synthetic: true, validationIsCalibration: false)
        }
        let (x, y) = try read(dataURL, graph: graph)
        log.line("calibration data: \(dataURL.lastPathComponent), \(x.shape[0]) inputs" + (y == nil ? ", no labels" : ", with labels"))
        if let valURL {
            let (vx, vy) = try read(valURL, graph: graph)
            log.line("validation data: \(valURL.lastPathComponent), \(vx.shape[0]) inputs" + (vy == nil ? ", no labels" : ", with labels"))
            return ModelData(calibration: x, calibrationLabels: y, validation: vx, validationLabels: vy,
                             source: "calibration \(dataURL.lastPathComponent), validation \(valURL.lastPathComponent)", synthetic: false, validationIsCalibration: false)
        }
        log.line("no validation data (\(stem.lastPathComponent).val.npz): validating on the calibration data")
        return ModelData(calibration: x, calibrationLabels: y, validation: x, validationLabels: y,
                         source: "\(dataURL.lastPathComponent) (validation reuses the calibration data)", synthetic: false, validationIsCalibration: true)
    }

    static func read(_ url: URL, graph: Graph) throws -> (Tensor, [Int64]?) {
        let file = url.lastPathComponent
        let inShape = graph.externalShape(graph.inputs[0])
        let arrays = try NumPy.load(url)
        guard let x = arrays["x"] else { throw DataError(file: file, field: "x", "missing: the inputs must be stored as array 'x' (found \(arrays.keys.sorted()))") }
        guard x.shape.count == inShape.count, Array(x.shape.dropFirst()) == Array(inShape.dropFirst()), x.shape[0] > 0 else {
            throw DataError(file: file, field: "x", "has shape \(x.shape), the model expects [N, \(inShape.dropFirst().map(String.init).joined(separator: ", "))]")
        }
        var labels: [Int64]? = nil
        if let y = arrays["y"] {
            guard y.shape.count == 1, y.shape[0] == x.shape[0] else {
                throw DataError(file: file, field: "y", "has shape \(y.shape); expected one integer label per input ([\(x.shape[0])])")
            }
            labels = y.ints
        }
        return (graph.toLogical(x.tensor), labels)
    }
}

/// Stage 3: the policy and calibration data → the integer model.
public enum QuantizeStage {
    public static let name = "quantize"
    public static let number = 3

    public struct Result: Sendable {
        public var model: QuantizedModel
        /// The same policy quantized without bias correction, for the before/after figure.
        public var withoutBiasCorrection: QuantizedModel
        public var policy: Policy
        public var policySource: String
    }

    public static func run(graph: Graph, policy: Policy, policySource: String, stats: CalibrationStats, log: StageLog) throws -> Result {
        log.line("policy: \(policySource)")
        log.line("calibration statistics from \(stats.images) inputs (\(stats.synthetic ? "SYNTHETIC" : "from data"))")
        let model = try Quantizer.quantize(graph: graph, policy: policy, stats: stats, options: .init(biasCorrection: true))
        let plain = try Quantizer.quantize(graph: graph, policy: policy, stats: stats, options: .init(biasCorrection: false))
        log.line("\(model.layers.count) integer layers, \(model.parameterBytes) parameter bytes (packed weights + int32 bias/multiplier/shift)")
        for note in model.notes { log.line("adjusted: \(note)") }
        if model.outputSoftmaxAxis != nil { log.line("the trailing Softmax stays on the host; the integer model outputs logits") }
        return Result(model: model, withoutBiasCorrection: plain, policy: policy, policySource: policySource)
    }
}

/// Stage 4: both models on the validation data; fails (exit 3) past the accuracy gate.
public enum ValidateStage {
    public static let name = "validate"
    public static let number = 4

    public struct Output: Codable, Sendable {
        public var data: String
        public var synthetic: Bool
        public var validationIsCalibration: Bool
        public var result: ValidationResult
        public var withoutBiasCorrection: ValidationResult
        public var parameterBytes: Int
        public var maxAccuracyDrop: Double?
        public var accuracyDrop: Double?
        public var passed: Bool
    }

    public static func run(graph: Graph, quantized: QuantizeStage.Result, data: ModelData, maxAccuracyDrop: Double?, threads: Int, log: StageLog) throws -> Output {
        log.line("validating on \(data.validation.shape[0]) inputs: \(data.source)")
        let r = try Validator.evaluate(graph: graph, model: quantized.model, x: data.validation, labels: data.validationLabels, threads: threads)
        let r0 = try Validator.evaluate(graph: graph, model: quantized.withoutBiasCorrection, x: data.validation, labels: data.validationLabels, threads: threads)
        log.line(String(format: "top-1 agreement %.2f%%, mean KL %.5f (without bias correction: %.2f%%, %.5f)", r.top1Agreement, r.meanKL, r0.top1Agreement, r0.meanKL))
        var drop: Double? = nil
        if let f = r.accuracyFloat, let q = r.accuracyQuantized {
            drop = f - q
            log.line(String(format: "accuracy: float %.2f%%, quantized %.2f%% (drop %.2f points)", f, q, f - q))
        }
        var passed = true
        if let gate = maxAccuracyDrop {
            if let drop {
                passed = drop <= gate
                log.line(passed ? "accuracy gate passed (max drop \(gate))" : String(format: "ACCURACY GATE FAILED: drop %.2f > %.2f points", drop, gate))
            } else {
                log.line("accuracy gate \(gate) not checked: the data has no labels")
            }
        }
        return Output(data: data.source, synthetic: data.synthetic, validationIsCalibration: data.validationIsCalibration, result: r,
                      withoutBiasCorrection: r0, parameterBytes: quantized.model.parameterBytes, maxAccuracyDrop: maxAccuracyDrop,
                      accuracyDrop: drop, passed: passed)
    }
}
