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
    /// The calibration data file's name (nil for synthetic data), for messages.
    public var calibrationFile: String? = nil

    /// The largest activation magnitude calibration accepts: past it the integer grid's scale
    /// and the float statistics lose meaning (and Inf cannot be stored in JSON).
    public static let maxActivationMagnitude: Float = 1e30

    /// Refuses calibration statistics with non-finite or absurd values, naming the first node
    /// (in execution order) whose output overflows on this data.
    public func check(_ stats: CalibrationStats, graph: Graph) throws {
        for n in graph.nodes {
            guard let s = stats.tensors[n.output], !s.samples.isEmpty else { continue }
            for v in [s.min, s.max] where !(v.magnitude <= Self.maxActivationMagnitude) {
                let file = calibrationFile ?? "synthetic calibration inputs"
                throw DataError(file: file, field: calibrationFile == nil ? nil : "x",
                                "the float model's output of node '\(n.name)' (\(n.op.name), tensor '\(n.output)') reaches \(v) on this data; the weights or the inputs are too large to quantize")
            }
        }
    }

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
        let (x, y) = try read(try confinedIfImplicit(dataURL, model: model), graph: graph)
        log.line("calibration data: \(dataURL.lastPathComponent), \(x.shape[0]) inputs" + (y == nil ? ", no labels" : ", with labels"))
        let file = dataURL.lastPathComponent
        if let valURL {
            let (vx, vy) = try read(try confinedIfImplicit(valURL, model: model), graph: graph)
            log.line("validation data: \(valURL.lastPathComponent), \(vx.shape[0]) inputs" + (vy == nil ? ", no labels" : ", with labels"))
            return ModelData(calibration: x, calibrationLabels: y, validation: vx, validationLabels: vy,
                             source: "calibration \(dataURL.lastPathComponent), validation \(valURL.lastPathComponent)", synthetic: false, validationIsCalibration: false,
                             calibrationFile: file)
        }
        log.line("no validation data (\(stem.lastPathComponent).val.npz): validating on the calibration data")
        return ModelData(calibration: x, calibrationLabels: y, validation: x, validationLabels: y,
                         source: "\(dataURL.lastPathComponent) (validation reuses the calibration data)", synthetic: false, validationIsCalibration: true,
                         calibrationFile: file)
    }

    /// The largest input value accepted in `x`: far beyond any normalised or raw-pixel input,
    /// far below where float activations would overflow.
    public static let maxInputMagnitude: Float = 1e9

    /// `NAME.npz` / `NAME.val.npz` found beside the model follow the same confinement as the
    /// budget's `data`: a symbolic link out of the model's folder is refused.
    static func confinedIfImplicit(_ url: URL, model: URL) throws -> URL {
        let dir = model.deletingLastPathComponent().standardizedFileURL
        let stem = model.deletingPathExtension().lastPathComponent
        guard url.deletingLastPathComponent().standardizedFileURL == dir, url.lastPathComponent.hasPrefix(stem + ".") else { return url }
        do { return try confinedPath(url.lastPathComponent, inside: dir, what: url.lastPathComponent) } catch {
            throw DataError(file: url.lastPathComponent, "is a link that leaves the model's folder '\(dir.lastPathComponent)'; refused")
        }
    }

    static func read(_ url: URL, graph: Graph) throws -> (Tensor, [Int64]?) {
        let file = url.lastPathComponent
        let inShape = graph.externalShape(graph.inputs[0])
        let arrays = try NumPy.load(url)
        guard let x = arrays["x"] else { throw DataError(file: file, field: "x", "missing: the inputs must be stored as array 'x' (found \(arrays.keys.sorted()))") }
        guard x.shape.count == inShape.count, Array(x.shape.dropFirst()) == Array(inShape.dropFirst()), x.shape[0] > 0 else {
            throw DataError(file: file, field: "x", "has shape \(x.shape), the model expects [N, \(inShape.dropFirst().map(String.init).joined(separator: ", "))]")
        }
        let xs = x.floats
        if let i = xs.firstIndex(where: { !($0.magnitude <= maxInputMagnitude) }) {
            let what = xs[i].isNaN ? "NaN" : xs[i].isInfinite ? "\(xs[i])" : "\(xs[i]) (beyond ±\(maxInputMagnitude))"
            throw DataError(file: file, field: "x", "element \(i) (input \(i / Swift.max(1, xs.count / x.shape[0]))) is \(what); refused: inputs must be finite numbers of a sensible size")
        }
        var labels: [Int64]? = nil
        if let y = arrays["y"] {
            guard y.shape.count == 1, y.shape[0] == x.shape[0] else {
                throw DataError(file: file, field: "y", "has shape \(y.shape); expected one integer label per input ([\(x.shape[0])])")
            }
            guard case .int(let ys) = y.values else {
                throw DataError(file: file, field: "y", "holds floating-point values; labels must be integer class indices (save with dtype int64)")
            }
            let outShape = graph.shape(graph.outputs[0])
            let classes = outShape.dropFirst().reduce(1, *)
            if let i = ys.firstIndex(where: { $0 < 0 || $0 >= Int64(classes) }) {
                throw DataError(file: file, field: "y", "label \(i) is \(ys[i]); the model's output '\(graph.outputs[0])' has \(classes) classes (0...\(classes - 1))")
            }
            labels = ys
        }
        return (graph.toLogical(Tensor(shape: x.shape, data: xs)), labels)
    }
}
