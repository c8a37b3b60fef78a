import Quantize

extension QPReLU: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        var s = "    nnk_prelu(\(c.arena(x)), \(x.runs), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(try c.int32s(0)), \(try c.int32s(1)), "
        s += "\(try c.int32s(2)), \(try c.int32s(3)), \(lo), \(hi), \(c.arena(y)), \(y.quant.bits));\n"
        return CKernelCode(statements: s)
    }
}
