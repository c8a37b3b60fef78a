import Quantize

extension QConcat: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let y = try c.tensor(l.output)
        let xs = try l.inputs.map { try c.tensor($0) }
        let (outer, blocks) = self.blocks(xs)
        let outBlock = blocks.reduce(0, +)
        var s = "", offset = 0
        for (k, x) in xs.enumerated() {
            s += "    nnk_concat_part(\(c.arena(x)), \(outer), \(blocks[k]), \(x.runLength), \(x.quant.bits), \(c.signed(x)), \(multipliers[k]), \(shifts[k]), "
            s += "\(lo), \(hi), \(c.arena(y)), \(outBlock), \(y.runLength), \(y.quant.bits), \(offset), \(k == 0 ? y.bytes : 0));\n"
            offset += blocks[k]
        }
        return CKernelCode(statements: s)
    }
}
