import Foundation
import Graph
import Kernels

/// PReLU (and LeakyReLU with a per-channel slope): y = x ≥ 0 ? x : slope[c]·x, slope scalar or
/// one per channel (the channels of an image, the last axis of a [1, C] tensor). Per channel c
/// two requantizations of the input code, chosen by its sign:
///   y_q = requant(x_q, x_q ≥ 0 ? positive[c] : negative[c])
/// positive = s_x/s_y, negative = slope[c]·s_x/s_y (its multiplier negative for a negative
/// slope). Four int32 arrays of C entries, like a channel affine layer.
public struct QPReLU: IntegerOp {
    public var positiveMultiplier: [Int32]
    public var positiveShift: [Int32]
    public var negativeMultiplier: [Int32]
    public var negativeShift: [Int32]
    public var lo: Int32
    public var hi: Int32

    public init(positiveMultiplier: [Int32], positiveShift: [Int32], negativeMultiplier: [Int32], negativeShift: [Int32], lo: Int32, hi: Int32) {
        self.positiveMultiplier = positiveMultiplier
        self.positiveShift = positiveShift
        self.negativeMultiplier = negativeMultiplier
        self.negativeShift = negativeShift
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "PReLU" }

    public var parameters: OpParameters { OpParameters(int32s: [positiveMultiplier, positiveShift, negativeMultiplier, negativeShift]) }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let x = inputs[0].codes, len = inputs[0].tensor.runLength
        var y = [Int32](repeating: 0, count: output.count)
        for i in 0..<x.count {
            let c = i % len
            y[i] = x[i] >= 0 ? requantize(x[i], positiveMultiplier[c], positiveShift[c], lo, hi)
                             : requantize(x[i], negativeMultiplier[c], negativeShift[c], lo, hi)
        }
        return y
    }

    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let shape = x.shape
        guard n.inputs.count == 2, let slope = b.graph.constants[n.inputs[1]] else { throw b.fail(n, "the slope must be a constant") }
        guard x.quant.zeroPoint == 0, shape.count == 4 || shape.count == 2 else {
            throw b.fail(n, "only the PReLU of an image or a [N, C] tensor with a symmetric input is supported")
        }
        let channels = x.runLength
        guard slope.count == 1 || (slope.count == channels && shape[1] == channels) else {
            throw b.fail(n, "slope '\(n.inputs[1])' has \(slope.count) values; a scalar or one per channel (\(shape[1])) is supported")
        }
        let slopes = (0..<channels).map { Double(slope.count == 1 ? slope.data[0] : slope.data[$0]) }
        let unsigned = !x.quant.signed || slopes.allSatisfy { $0 <= 0 } || clamp.lo >= 0
        let out = try b.calibrated(n.output, signed: !unsigned, bits: b.policy.activationBits(n.output))
        let pos = try b.multiplier(n, x.quant.scale / out.quant.scale)
        var pm = [Int32](repeating: pos.multiplier, count: channels), pt = [Int32](repeating: pos.shift, count: channels)
        var nm = pm, nt = pt
        for c in 0..<channels {
            let neg = try b.multiplier(n, abs(slopes[c]) * x.quant.scale / out.quant.scale)
            nm[c] = slopes[c] < 0 ? -neg.multiplier : neg.multiplier
            nt[c] = neg.shift
            pm[c] = pos.multiplier
            pt[c] = pos.shift
        }
        let (lo, hi) = b.bounds(out, clamp: clamp)
        let op = QPReLU(positiveMultiplier: pm, positiveShift: pt, negativeMultiplier: nm, negativeShift: nt, lo: lo, hi: hi)
        b.add(n, .prelu(op), inputs: [x.name], output: out)
    }
}
