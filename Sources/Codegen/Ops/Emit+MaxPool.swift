import Quantize

extension QMaxPool: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output), g = geometry, i = c.index
        let d = "static const nnk_window W\(i) = {\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), \(g.strideH), \(g.strideW), 1, 1, \(g.padTop), \(g.padLeft)};\n"
        let s = "    nnk_max_pool(&W\(i), \(c.arena(x)), \(x.quant.bits), \(c.signed(x)), \(c.arena(y)));\n"
        return CKernelCode(declarations: d, statements: s)
    }
}
