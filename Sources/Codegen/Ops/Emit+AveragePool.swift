import Quantize

extension QAveragePool: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output), g = geometry, i = c.index
        let d = "static const nnk_window W\(i) = {\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), \(g.strideH), \(g.strideW), 1, 1, 0, 0};\n"
        let s = "    nnk_average_pool(&W\(i), \(c.arena(x)), \(x.quant.bits), \(c.signed(x)), \(multiplier), \(shift), \(lo), \(hi), \(c.arena(y)), \(y.quant.bits));\n"
        return CKernelCode(declarations: d, statements: s)
    }
}
