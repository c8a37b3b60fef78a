import Quantize

extension QConv: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output), g = geometry, i = c.index
        var d = "static const nnk_conv_params L\(i) = {{\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), "
        d += "\(g.strideH), \(g.strideW), \(g.dilationH), \(g.dilationW), \(g.padTop), \(g.padLeft)}, \(groups), \(depthwise ? 1 : 0), "
        d += "\(x.quant.bits), \(c.signed(x)), \(weightBits), \(y.quant.bits), \(c.signed(y)), \(lo), \(hi), \(padValue)};\n"
        let s = "    nnk_conv(&L\(i), \(c.arena(x)), \(try c.bytes()), \(try c.int32s(0)), \(try c.int32s(1)), \(try c.int32s(2)), \(c.arena(y)));\n"
        return CKernelCode(declarations: d, statements: s)
    }
}
