import Graph
import Kernels

/// Channels (the last axis of each run) of every input side by side, each input requantized to
/// the output's scale with its own multiplier and shift.
public struct QConcat: IntegerOp {
    public var multipliers: [Int32]
    public var shifts: [Int32]
    public var lo: Int32
    public var hi: Int32

    public init(multipliers: [Int32], shifts: [Int32], lo: Int32, hi: Int32) {
        self.multipliers = multipliers
        self.shifts = shifts
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "Concat" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        var offset = 0
        for (i, input) in inputs.enumerated() {
            let it = input.tensor
            input.codes.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                integerConcatPart(x: xp.baseAddress!, runs: it.runs, inLength: it.runLength, multiplier: multipliers[i], shift: shifts[i], lo: lo, hi: hi,
                                  output: yp.baseAddress!, outLength: output.runLength, offset: offset)
            } }
            offset += it.runLength
        }
        return y
    }

    static func lower(_ n: Node, axis: Int, clamp: Clamp, in b: inout Builder) throws {
        let xs = try n.inputs.indices.map { try b.inputTensor(n, $0) }
        let channelAxis = xs[0].isImage ? 1 : xs[0].shape.count - 1
        guard axis == channelAxis, xs.allSatisfy({ $0.quant.zeroPoint == 0 && $0.runs == xs[0].runs && $0.shape.count == xs[0].shape.count }) else {
            throw b.fail(n, "only a concatenation of channels (axis 1 of images, the last axis otherwise) without zero-points is supported")
        }
        let out = try b.calibrated(n.output, signed: xs.contains { $0.quant.signed }, bits: b.policy.activationBits(n.output))
        let ms = try xs.map { try b.multiplier(n, $0.quant.scale / out.quant.scale) }
        let (lo, hi) = b.bounds(out, clamp: clamp)
        b.add(n, .concat(QConcat(multipliers: ms.map(\.multiplier), shifts: ms.map(\.shift), lo: lo, hi: hi)), inputs: xs.map(\.name), output: out)
    }
}
