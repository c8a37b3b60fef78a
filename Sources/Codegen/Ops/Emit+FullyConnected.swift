import Quantize

extension QFullyConnected: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        var s = "    nnk_fully_connected(\(c.arena(x)), \(x.count / inC), \(inC), \(x.quant.bits), \(c.signed(x)), \(try c.bytes()), \(weightBits), "
        s += "\(try c.int32s(0)), \(try c.int32s(1)), \(try c.int32s(2)), \(lo), \(hi), \(c.arena(y)), \(outC), \(y.quant.bits), \(c.signed(y)));\n"
        return CKernelCode(statements: s)
    }
}
