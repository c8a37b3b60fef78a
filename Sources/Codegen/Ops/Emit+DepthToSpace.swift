import Quantize

extension QDepthToSpace: CKernelCall {
    func emit(_ l: QLayer, _ c: EmitContext) throws -> CKernelCode {
        let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
        let s = "    nnk_depth_to_space(\(c.arena(x)), \(x.shape[2]), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(c.signed(x)), \(blockSize), \(crd ? 1 : 0), \(c.arena(y)));\n"
        return CKernelCode(statements: s)
    }
}
