import Quantize

extension QPad: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        var s = "    nnk_pad(\(c.arena(x)), \(x.shape[2]), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(c.signed(x)), \(pads[0]), \(pads[1]), "
        s += "\(channelsBefore), \(y.shape[2]), \(y.shape[3]), \(y.shape[1]), \(value), \(c.arena(y)));\n"
        return CKernelCode(statements: s)
    }
}
