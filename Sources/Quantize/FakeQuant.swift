import Graph
import Kernels

/// The quantizer's grids, shared by the integer quantizer and the float simulation the search
/// uses (quantize, then dequantize, in float).
public enum FakeQuant {
    /// Per-output-channel (first axis) symmetric weights: codes and scales, each row clipped for
    /// least squared error.
    public static func quantizeRows(_ w: [Float], rows: Int, bits: Int) -> (codes: [Int32], scales: [Double]) {
        let per = w.count / rows
        let qmax = Float((1 << (bits - 1)) - 1)
        var codes = [Int32](repeating: 0, count: w.count)
        var scales = [Double](repeating: 1, count: rows)
        for r in 0..<rows {
            let alpha = RangeSearch.weightClip(w[r * per..<(r + 1) * per], bits: bits)
            let s = alpha > 0 ? alpha / qmax : 1
            scales[r] = Double(s)
            for j in 0..<per { codes[r * per + j] = Int32(Swift.min(Swift.max((w[r * per + j] / s).rounded(.toNearestOrAwayFromZero), -qmax), qmax)) }
        }
        return (codes, scales)
    }

    /// Weights quantized and dequantized at `bits`.
    public static func weights(_ w: Tensor, bits: Int) -> Tensor {
        let rows = w.shape[0]
        let (codes, scales) = quantizeRows(w.data, rows: rows, bits: bits)
        let per = w.count / rows
        return Tensor(shape: w.shape, data: codes.indices.map { Float(Double(codes[$0]) * scales[$0 / per]) })
    }

    /// The smallest activation range (max |x|) a grid is made for: tensors that calibrate to
    /// zero (dead branches) or to denormals get this one, so requantization factors stay finite.
    public static let minimumRange: Float = 1e-6

    /// The grid of an activation tensor at `bits`, clipped for least squared error on the
    /// calibration samples.
    public static func activation(_ s: TensorStats, signed: Bool, bits: Int) -> ActivationQuant {
        var maxAbs = signed ? Swift.max(abs(s.min), abs(s.max)) : Swift.max(s.max, 0)
        // A constant-zero, denormal or non-finite range gets the smallest sensible grid.
        if !maxAbs.isFinite || maxAbs < minimumRange { maxAbs = minimumRange }
        let samples = s.samples.allSatisfy(\.isFinite) ? s.samples : s.samples.filter(\.isFinite)
        let alpha = RangeSearch.activationClip(samples, bits: bits, signed: signed, maxAbs: maxAbs)
        let qmax = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
        return ActivationQuant(bits: bits, signed: signed, scale: Swift.max(Double(alpha) / Double(qmax), 1e-12))
    }

    /// Applies `q` (quantize, dequantize) to float data in place.
    public static func apply(_ q: ActivationQuant, to data: inout [Float]) {
        data.withUnsafeMutableBufferPointer { fakeQuantize($0, scale: Float(q.scale), qmin: Float(q.qmin), qmax: Float(q.qmax)) }
    }
}

extension Quantizer {
    /// Whether each activation tensor is stored signed: unsigned after ReLU/ReLU6 (and what
    /// only passes such values on: pools, tied ops, sigmoid-like lookups), signed otherwise.
    public static func signedness(_ graph: Graph) -> [String: Bool] {
        var signed: [String: Bool] = [graph.inputs[0]: false]
        let fused = graph.fusedActivations()
        for l in graph.integerLayers() {
            let n = graph.nodes[l.node]
            let inSigned = l.inputs.first.flatMap { signed[$0] } ?? true
            switch n.op {
            case .conv, .fullyConnected: signed[l.output] = (fused[l.node]?.lo ?? -.infinity) < 0
            case .add: signed[l.output] = true
            case .mul, .concat: signed[l.output] = l.inputs.contains { signed[$0] ?? true }
            case .relu, .sigmoid, .hardSigmoid: signed[l.output] = false
            case .clip(let lo, _): signed[l.output] = lo < 0
            case .hardSwish: signed[l.output] = true
            default: signed[l.output] = inSigned
            }
        }
        return signed
    }
}
