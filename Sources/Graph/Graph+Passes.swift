/// Graph rewrites that keep the function the same.
extension Graph {
    /// Folds each `batchNorm` into the convolution or fully connected layer that produces its
    /// input, when nothing else reads that layer's output: W'[c] = W[c]·scale[c],
    /// b'[c] = b[c]·scale[c] + shift[c]. Folded weights get new constant names, so a weight
    /// shared with another node is never changed under it.
    public mutating func foldBatchNorms() {
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { producer[n.output] = i }
        let readers = consumers()
        var removed = Set<Int>()
        for (bi, bn) in nodes.enumerated() {
            guard case .batchNorm = bn.op, bn.inputs.count == 3,
                  let pi = producer[bn.inputs[0]], !removed.contains(pi),
                  readers[bn.inputs[0]]?.count == 1, !outputs.contains(bn.inputs[0]),
                  let scale = constants[bn.inputs[1]], let shift = constants[bn.inputs[2]]
            else { continue }
            var layer = nodes[pi]
            switch layer.op {
            case .conv, .fullyConnected: break
            default: continue
            }
            guard let w = constants[layer.inputs[1]], w.shape[0] == scale.count, scale.count == shift.count,
                  (layer.op != .fullyConnected || shape(layer.output).count == 2)
            else { continue }
            let cout = w.shape[0]
            let per = w.count / cout
            var wf = w
            for c in 0..<cout { for j in 0..<per { wf.data[c * per + j] *= scale.data[c] } }
            var bias = layer.inputs.count > 2 ? (constants[layer.inputs[2]]?.data ?? []) : []
            if bias.isEmpty { bias = [Float](repeating: 0, count: cout) }
            for c in 0..<cout { bias[c] = bias[c] * scale.data[c] + shift.data[c] }
            let wName = layer.name + "#folded_weight", bName = layer.name + "#folded_bias"
            constants[wName] = wf
            constants[bName] = Tensor(shape: [cout], data: bias)
            shapes[wName] = wf.shape
            shapes[bName] = [cout]
            layer.inputs = [layer.inputs[0], wName, bName]
            shapes[bn.output] = shapes[layer.output]
            shapes[layer.output] = nil
            layer.output = bn.output
            nodes[pi] = layer
            removed.insert(bi)
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
        removeUnused()
    }

    /// Drops nodes whose output nobody reads (and that are not graph outputs), then constants
    /// and shapes nothing refers to.
    public mutating func removeUnused() {
        var live = Set(outputs)
        var keep = [Bool](repeating: false, count: nodes.count)
        for i in stride(from: nodes.count - 1, through: 0, by: -1) where live.contains(nodes[i].output) {
            keep[i] = true
            live.formUnion(nodes[i].inputs)
        }
        nodes = nodes.indices.filter { keep[$0] }.map { nodes[$0] }
        live.formUnion(inputs)
        constants = constants.filter { live.contains($0.key) }
        shapes = shapes.filter { live.contains($0.key) }
    }
}

extension Graph {
    /// Renames an activation tensor everywhere it appears.
    public mutating func renameTensor(_ from: String, to: String) {
        guard from != to else { return }
        for i in nodes.indices {
            if nodes[i].output == from { nodes[i].output = to }
            nodes[i].inputs = nodes[i].inputs.map { $0 == from ? to : $0 }
        }
        if let s = shapes.removeValue(forKey: from) { shapes[to] = s }
        inputs = inputs.map { $0 == from ? to : $0 }
        outputs = outputs.map { $0 == from ? to : $0 }
    }
}

extension Graph {
    /// Relu/Clip nodes that are the only reader of a convolution or fully connected output
    /// (which is not a graph output): both engines fold them into the layer's clamp. Maps the
    /// layer's node index to the activation's node index and clamp range.
    public func fusedActivations() -> [Int: (activation: Int, lo: Float, hi: Float)] {
        let readers = consumers()
        var out: [Int: (activation: Int, lo: Float, hi: Float)] = [:]
        for (i, n) in nodes.enumerated() {
            switch n.op {
            case .conv, .fullyConnected: break
            default: continue
            }
            guard let r = readers[n.output], r.count == 1, !outputs.contains(n.output) else { continue }
            switch nodes[r[0]].op {
            case .relu: out[i] = (r[0], 0, .infinity)
            case .clip(let lo, let hi): out[i] = (r[0], lo, hi)
            default: break
            }
        }
        return out
    }
}
