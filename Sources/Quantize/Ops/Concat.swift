import Graph
import Kernels

/// Inputs side by side along one axis, each requantized to the output's grid with its own
/// multiplier and shift. The axis is counted in stored order (images: H, W, C; other tensors:
/// their logical axes), so a channel concatenation puts each input's C codes in every run, an H
/// concatenation stacks whole blocks of runs, and the heads of a detector ([1, N_k, K] on axis
/// 1) follow one another.
public struct QConcat: IntegerOp {
    public var multipliers: [Int32]
    public var shifts: [Int32]
    public var lo: Int32
    public var hi: Int32
    /// The concatenation axis in stored order.
    public var storedAxis: Int

    public init(multipliers: [Int32], shifts: [Int32], lo: Int32, hi: Int32, storedAxis: Int) {
        self.multipliers = multipliers
        self.shifts = shifts
        self.lo = lo
        self.hi = hi
        self.storedAxis = storedAxis
    }

    public var name: String { "Concat" }

    /// A tensor's dimensions in stored order: images [H, W, C], others their logical shape.
    public static func storedShape(_ t: QTensor) -> [Int] { t.isImage ? [t.shape[2], t.shape[3], t.shape[1]] : t.shape }

    /// Elements before the axis (outer) and each input's contiguous block along and after it.
    public func blocks(_ inputs: [QTensor]) -> (outer: Int, blocks: [Int]) {
        let s0 = Self.storedShape(inputs[0])
        let outer = s0.prefix(storedAxis).reduce(1, *)
        return (outer, inputs.map { Self.storedShape($0).suffix(from: storedAxis).reduce(1, *) })
    }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        let (outer, blocks) = self.blocks(inputs.map(\.tensor))
        let outBlock = blocks.reduce(0, +)
        var offset = 0
        for (k, input) in inputs.enumerated() {
            let x = input.codes, block = blocks[k]
            for o in 0..<outer {
                for e in 0..<block {
                    y[o * outBlock + offset + e] = requantize(x[o * block + e], multipliers[k], shifts[k], lo, hi)
                }
            }
            offset += block
        }
        return y
    }

    static func lower(_ n: Node, axis: Int, clamp: Clamp, in b: inout Builder) throws {
        let xs = try n.inputs.indices.map { try b.inputTensor(n, $0) }
        let rank = xs[0].shape.count
        let a = axis < 0 ? axis + rank : axis
        guard xs.allSatisfy({ $0.shape.count == rank && $0.quant.zeroPoint == 0 }), a >= 1, a < rank else {
            throw b.fail(n, "only a concatenation of tensors of one rank without zero-points, along an axis other than the batch, is supported")
        }
        let stored = xs[0].isImage ? ([1: 2, 2: 0, 3: 1][a] ?? a) : a  // images are stored H, W, C
        let out = try b.calibrated(n.output, signed: xs.contains { $0.quant.signed }, bits: b.policy.activationBits(n.output))
        let ms = try xs.map { try b.multiplier(n, $0.quant.scale / out.quant.scale) }
        let (lo, hi) = b.bounds(out, clamp: clamp)
        let op = QConcat(multipliers: ms.map(\.multiplier), shifts: ms.map(\.shift), lo: lo, hi: hi, storedAxis: stored)
        b.add(n, .concat(op), inputs: xs.map(\.name), output: out)
    }
}
