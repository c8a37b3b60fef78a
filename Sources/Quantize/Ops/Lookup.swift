import Foundation
import Graph
import Kernels

/// y = table[x − inputMin]: any element-wise function of a ≤ 8-bit input, exactly; one table
/// byte per input code in FLASH.
public struct QLookup: IntegerOp {
    public var table: [Int32]
    public var inputMin: Int32

    public init(table: [Int32], inputMin: Int32) {
        self.table = table
        self.inputMin = inputMin
    }

    public var name: String { "Lookup" }

    public var parameters: OpParameters { OpParameters(bytes: table.map { UInt8(truncatingIfNeeded: $0) }) }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        inputs[0].codes.map { table[Int($0 - inputMin)] }
    }

    /// The float function of an element-wise graph op (relu, clip, sigmoid, hard-sigmoid,
    /// hard-swish or any fused `elementwise` tree), and whether its output can be negative
    /// (outputs that cannot are stored unsigned).
    static func function(_ op: Op) -> (f: ScalarFunction, signed: Bool)? {
        guard let f = ScalarFunction.of(op) else { return nil }
        return (f, !f.isNonNegative)
    }

    static func lower(_ n: Node, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard let (f, signed) = function(n.op) else { throw b.fail(n, "has no lookup-table implementation") }
        guard x.quant.bits <= 8 else { throw b.fail(n, "input '\(x.name)' has \(x.quant.bits) bits; a lookup table takes at most 8") }
        // The output grid covers the table's image (f over every input code), not only the
        // calibrated output samples, so what the input grid represents is never clipped (a
        // sigmoid whose calibration images all scored below 0.01 kept a grid ending there).
        let bits = b.policy.activationBits(n.output)
        let image = (x.quant.qmin...x.quant.qmax).map { f(x.quant.dequantize(Int32($0))) }.filter { !$0.isNaN }
        let maxAbs = signed ? image.reduce(Float(0)) { Swift.max($0, abs($1)) } : Swift.max(image.max() ?? 0, 0)
        let range = maxAbs.isFinite ? Swift.max(maxAbs, FakeQuant.minimumRange) : FakeQuant.minimumRange
        let qmax = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
        let out = QTensor(name: n.output, shape: b.graph.shape(n.output),
                          quant: ActivationQuant(bits: bits, signed: signed, scale: Double(range) / Double(qmax)))
        let table = (x.quant.qmin...x.quant.qmax).map { code -> Int32 in
            let y = f(x.quant.dequantize(Int32(code)))
            // NaN (log or sqrt of a negative code) becomes the code of 0.
            return out.quant.quantize(y.isNaN ? 0 : y)
        }
        b.add(n, .lookup(QLookup(table: table, inputMin: Int32(x.quant.qmin))), inputs: [x.name], output: out)
    }
}
