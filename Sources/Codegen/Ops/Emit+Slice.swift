import Quantize

extension QSlice: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        var s = "    nnk_slice(\(c.arena(x)), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(c.signed(x)), \(starts[1]), \(starts[2]), \(starts[0]), "
        s += "\(steps[1]), \(steps[2]), \(steps[0]), \(y.shape[2]), \(y.shape[3]), \(y.shape[1]), \(c.arena(y)));\n"
        return CKernelCode(statements: s)
    }
}
