import Quantize

extension QReshape: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        let (h, w, ch) = x.isImage ? (x.shape[2], x.shape[3], x.shape[1]) : (1, 1, x.runLength)
        var s = "    nnk_reshape(\(c.arena(x)), \(x.runs), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(fromNHWC ? 1 : 0), \(h), \(w), \(ch), "
        s += "\(c.arena(y)), \(y.runs), \(y.runLength));\n"
        return CKernelCode(statements: s)
    }
}
