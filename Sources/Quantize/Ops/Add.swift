import Graph
import Kernels

/// Residual add of two equally shaped activations: y = roundShift(x1·m1 + x2·m2, shift),
/// both multipliers sharing one shift.
public struct QAdd: IntegerOp {
    public var m1: Int32
    public var m2: Int32
    public var shift: Int32
    public var lo: Int32
    public var hi: Int32

    public init(m1: Int32, m2: Int32, shift: Int32, lo: Int32, hi: Int32) {
        self.m1 = m1
        self.m2 = m2
        self.shift = shift
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "Add" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        let count = y.count
        inputs[0].codes.withUnsafeBufferPointer { ap in inputs[1].codes.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
            integerAdd(a: ap.baseAddress!, b: bp.baseAddress!, count: count, m1: m1, m2: m2, shift: shift, lo: lo, hi: hi, output: yp.baseAddress!)
        } } }
        return y
    }

    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let x1 = try b.inputTensor(n, 0), x2 = try b.inputTensor(n, 1)
        guard x1.shape == x2.shape, x1.quant.zeroPoint == 0, x2.quant.zeroPoint == 0 else {
            throw b.fail(n, "only residual adds of two equally shaped activations are supported")
        }
        let out = try b.calibrated(n.output, signed: true, bits: b.policy.activationBits(n.output))
        let (m1, m2, t) = try b.sharedMultipliers(n, x1.quant.scale / out.quant.scale, x2.quant.scale / out.quant.scale)
        let (lo, hi) = b.bounds(out, clamp: clamp)
        b.add(n, .add(QAdd(m1: m1, m2: m2, shift: t, lo: lo, hi: hi)), inputs: [x1.name, x2.name], output: out)
    }
}
