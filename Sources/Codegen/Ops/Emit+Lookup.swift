import Quantize

extension QLookup: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        let s = "    nnk_lookup(\(c.arena(x)), \(x.runs), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(try c.bytes()), \(inputMin), \(c.arena(y)), \(y.quant.bits));\n"
        return CKernelCode(statements: s)
    }
}
