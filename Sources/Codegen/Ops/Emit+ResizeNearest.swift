import Quantize

extension QResizeNearest: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        let s = "    nnk_resize_nearest(\(c.arena(x)), \(x.shape[2]), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(factorH), \(factorW), \(c.arena(y)));\n"
        return CKernelCode(statements: s)
    }
}
