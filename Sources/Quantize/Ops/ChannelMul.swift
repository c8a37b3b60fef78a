import Graph
import Kernels

/// An image times a per-channel gate [1, C, 1, 1] (squeeze-excite): y = requant(x·gate[c]) with
/// one multiplier for the tensor. Input 1 is the gate.
public struct QChannelMul: IntegerOp {
    public var multiplier: Int32
    public var shift: Int32
    public var lo: Int32
    public var hi: Int32

    public init(multiplier: Int32, shift: Int32, lo: Int32, hi: Int32) {
        self.multiplier = multiplier
        self.shift = shift
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "ChannelMul" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor
        var y = [Int32](repeating: 0, count: output.count)
        inputs[0].codes.withUnsafeBufferPointer { xp in inputs[1].codes.withUnsafeBufferPointer { gp in y.withUnsafeMutableBufferPointer { yp in
            integerChannelMul(x: xp.baseAddress!, gate: gp.baseAddress!, pixels: xt.runs, channels: xt.runLength, multiplier: multiplier, shift: shift,
                              lo: lo, hi: hi, output: yp.baseAddress!)
        } } }
        return y
    }

    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0), g = try b.inputTensor(n, 1)
        guard x.isImage, g.shape == [1, x.shape[1], 1, 1], x.quant.zeroPoint == 0, g.quant.zeroPoint == 0 else {
            throw b.fail(n, "only an activation times a per-channel gate [1, C, 1, 1] (squeeze-excite) is supported")
        }
        let out = try b.calibrated(n.output, signed: x.quant.signed || g.quant.signed, bits: b.policy.activationBits(n.output))
        let m = try b.multiplier(n, (x.quant.scale * g.quant.scale) / out.quant.scale)
        let (lo, hi) = b.bounds(out, clamp: clamp)
        b.add(n, .channelMul(QChannelMul(multiplier: m.multiplier, shift: m.shift, lo: lo, hi: hi)), inputs: [x.name, g.name], output: out)
    }
}
