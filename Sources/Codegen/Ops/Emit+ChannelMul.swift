import Quantize

extension QChannelMul: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), g = try c.tensor(l.inputs[1]), y = try c.tensor(l.output)
        var s = "    nnk_channel_mul(\(c.arena(x)), \(c.arena(g)), \(x.runs), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(g.quant.bits), \(c.signed(g)), "
        s += "\(multiplier), \(shift), \(lo), \(hi), \(c.arena(y)), \(y.quant.bits));\n"
        return CKernelCode(statements: s)
    }
}
