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

    /// The float function of an element-wise graph op, and whether its output can be negative.
    static func function(_ op: Op) -> (f: (Float) -> Float, signed: Bool)? {
        switch op {
        case .relu: return ({ Swift.max($0, 0) }, false)
        case .clip(let lo, let hi): return ({ Swift.min(Swift.max($0, lo), hi) }, lo < 0)
        case .sigmoid: return ({ 1 / (1 + exp(-$0)) }, false)
        case .hardSigmoid(let a, let b): return ({ Swift.min(Swift.max(a * $0 + b, 0), 1) }, false)
        case .hardSwish: return ({ $0 * Swift.min(Swift.max($0 / 6 + 0.5, 0), 1) }, true)
        default: return nil
        }
    }

    static func lower(_ n: Node, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard let (f, signed) = function(n.op) else { throw b.fail(n, "has no lookup-table implementation") }
        let out = try b.calibrated(n.output, signed: signed, bits: b.policy.activationBits(n.output))
        let table = (x.quant.qmin...x.quant.qmax).map { out.quant.quantize(f(x.quant.dequantize(Int32($0)))) }
        b.add(n, .lookup(QLookup(table: table, inputMin: Int32(x.quant.qmin))), inputs: [x.name], output: out)
    }
}
