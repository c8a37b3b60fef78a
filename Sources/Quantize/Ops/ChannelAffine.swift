import Foundation
import Graph
import Kernels

/// An activation and a constant, element-wise: Add, Mul or Div with a scalar or per-channel
/// (the channels of an image, the last axis otherwise: the last stored axis) constant, as exporters write hard-swish pieces, normalisations and
/// rescalings. Per channel c the real y = a[c]·x + b[c] becomes
///   y_q = requant(weight[c]·x_q + bias[c], multiplier[c], shift[c])
/// with weight = ±2^12 (or 0), bias the constant at the accumulator's scale, like a 1×1
/// depthwise convolution whose per-channel factor lives in the multiplier.
public struct QChannelAffine: IntegerOp {
    public var weight: [Int32]
    public var bias: [Int32]
    public var multiplier: [Int32]
    public var shift: [Int32]
    public var lo: Int32
    public var hi: Int32

    public init(weight: [Int32], bias: [Int32], multiplier: [Int32], shift: [Int32], lo: Int32, hi: Int32) {
        self.weight = weight
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "ChannelAffine" }

    public var parameters: OpParameters { OpParameters(int32s: [weight, bias, multiplier, shift]) }

    /// log2 of |weight|: the bias resolution is 1/4096 of an input step.
    static let weightShift = 12

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let x = inputs[0].codes, len = inputs[0].tensor.runLength
        var y = [Int32](repeating: 0, count: output.count)
        for i in 0..<x.count {
            let c = i % len
            y[i] = requantize(weight[c] &* x[i] &+ bias[c], multiplier[c], shift[c], lo, hi)
        }
        return y
    }

    /// The per-channel (a, b) of y = a·x + b for a node with one constant operand, or nil.
    /// NumPy broadcasting aligns the constant's shape to the right: per channel is [C, 1, 1] (or
    /// [1, C, 1, 1]) for an image, [K] for the last axis of other tensors.
    static func coefficients(_ n: Node, _ graph: Graph, channels: Int) -> (a: [Double], b: [Double])? {
        guard n.inputs.count == 2 else { return nil }
        let ci = graph.isConstant(n.inputs[0]) ? 0 : 1
        guard let k = graph.constants[n.inputs[ci]], !graph.isConstant(n.inputs[1 - ci]) else { return nil }
        let xShape = graph.shape(n.inputs[1 - ci])
        guard k.shape.count <= xShape.count else { return nil }
        let aligned = [Int](repeating: 1, count: xShape.count - k.shape.count) + k.shape
        let channelAxis = xShape.count == 4 ? 1 : xShape.count - 1
        let values: [Double]
        if k.count == 1 {
            values = [Double](repeating: Double(k.data[0]), count: channels)
        } else if aligned.enumerated().allSatisfy({ $0.offset == channelAxis ? $0.element == channels : $0.element == 1 }) {
            values = k.data.map(Double.init)
        } else {
            return nil
        }
        switch n.op {
        case .add: return ([Double](repeating: 1, count: channels), values)
        case .mul: return (values, [Double](repeating: 0, count: channels))
        case .div where ci == 1 && values.allSatisfy({ $0 != 0 }): return (values.map { 1 / $0 }, [Double](repeating: 0, count: channels))
        default: return nil
        }
    }

    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let xi = b.graph.isConstant(n.inputs[0]) ? 1 : 0
        let x = try b.inputTensor(n, xi)
        let channels = x.runLength
        guard x.quant.zeroPoint == 0, let (a, c) = coefficients(n, b.graph, channels: channels) else {
            throw b.fail(n, "only an activation with a scalar or per-channel constant (Add, Mul, or Div by a non-zero constant) is supported")
        }
        let unsigned = !x.quant.signed && a.allSatisfy { $0 >= 0 } && c.allSatisfy { $0 >= 0 } || clamp.lo >= 0
        let out = try b.calibrated(n.output, signed: !unsigned, bits: b.policy.activationBits(n.output))
        var w = [Int32](repeating: 0, count: channels), bias = w, m = w, t = w
        var saturated: [Int] = []
        for ch in 0..<channels {
            // The accumulator's scale: |a|·s_x / 2^p, p ≤ 12 chosen so the bias fits in 2^29.
            let unit = a[ch] != 0 ? abs(a[ch]) * x.quant.scale : out.quant.scale
            var p = weightShift
            while p > 0, abs(c[ch]) / (unit / pow(2, Double(p))) >= Double(1 << 29) { p -= 1 }
            let accScale = unit / pow(2, Double(p))
            var bq = (c[ch] / accScale).rounded(.toNearestOrAwayFromZero)
            if abs(bq) >= Double(1 << 29) {
                bq = bq < 0 ? -Double(1 << 29) : Double(1 << 29)
                saturated.append(ch)
            }
            w[ch] = a[ch] == 0 ? 0 : (a[ch] < 0 ? -1 : 1) << Int32(p)
            bias[ch] = Int32(bq)
            let fm = try b.multiplier(n, accScale / out.quant.scale)
            m[ch] = fm.multiplier
            t[ch] = fm.shift
        }
        if !saturated.isEmpty { b.note(n, "constant of channels \(b.channelList(saturated)) beyond the output's range: saturated") }
        let (lo, hi) = b.bounds(out, clamp: clamp)
        let op = QChannelAffine(weight: w, bias: bias, multiplier: m, shift: t, lo: lo, hi: hi)
        b.add(n, .channelAffine(op), inputs: [x.name], output: out)
    }
}
