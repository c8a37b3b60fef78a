import Quantize

extension QAdd: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), b = try c.tensor(l.inputs[1]), y = try c.tensor(l.output)
        var s = "    nnk_add(\(c.arena(x)), \(c.arena(b)), \(y.runs), \(y.runLength), \(x.quant.bits), \(c.signed(x)), \(b.quant.bits), \(c.signed(b)), "
        s += "\(m1), \(m2), \(shift), \(lo), \(hi), \(c.arena(y)), \(y.quant.bits));\n"
        return CKernelCode(statements: s)
    }
}
