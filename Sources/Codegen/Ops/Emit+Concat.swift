import Quantize

extension QConcat: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let y = try c.tensor(l.output)
        var s = "", offset = 0
        for (k, name) in l.inputs.enumerated() {
            let x = try c.tensor(name)
            s += "    nnk_concat_part(\(c.arena(x)), \(x.runs), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(multipliers[k]), \(shifts[k]), \(lo), \(hi), "
            s += "\(c.arena(y)), \(y.runLength), \(y.quant.bits), \(offset), \(k == 0 ? 1 : 0));\n"
            offset += x.runLength
        }
        return CKernelCode(statements: s)
    }
}
