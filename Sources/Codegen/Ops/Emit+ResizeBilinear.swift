import Quantize

extension QResizeBilinear: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        var s = "    nnk_resize_bilinear(\(c.arena(x)), \(x.shape[2]), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(c.signed(x)), "
        s += "\(rowMap[0]), \(rowMap[1]), \(rowMap[2]), \(columnMap[0]), \(columnMap[1]), \(columnMap[2]), \(y.shape[2]), \(y.shape[3]), \(c.arena(y)));\n"
        return CKernelCode(statements: s)
    }
}
