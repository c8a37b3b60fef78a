/// The rewrites every importer runs after lowering: exporters' decompositions are folded back
/// into the ops the engines and the quantizer know.
extension Graph {
    /// Constant-operand arithmetic onto per-channel affine ops, BatchNorm folding, element-wise
    /// fusion, transposes around flattening folded into the fully connected layer after them.
    public mutating func simplify() {
        lowerConstantAffine()
        var count = Int.max
        while nodes.count < count {
            count = nodes.count
            mergeBatchNorms()
            foldBatchNorms()
        }
        fuseElementwise()
        foldTransposeIntoFullyConnected()
        removeUnused()
    }

    /// Add, Sub, Mul and Div of an activation and a constant that is one value per channel (axis
    /// 1) become a `batchNorm` (y = x·scale + shift), which folds into a convolution before it. A
    /// single value does too when the activation comes straight from a convolution, fully
    /// connected layer or BatchNorm that nothing else reads; elsewhere it is left to
    /// `fuseElementwise`.
    public mutating func lowerConstantAffine() {
        let readers = consumers()
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { producer[n.output] = i }
        for i in nodes.indices {
            let n = nodes[i]
            let kind: Int
            switch n.op {
            case .add: kind = 0
            case .sub: kind = 1
            case .mul: kind = 2
            case .div: kind = 3
            default: continue
            }
            guard n.inputs.count == 2 else { continue }
            let constFirst = constants[n.inputs[0]] != nil
            guard let c = constants[n.inputs[constFirst ? 0 : 1]], constants[n.inputs[constFirst ? 1 : 0]] == nil else { continue }
            let x = n.inputs[constFirst ? 1 : 0]
            let xs = shape(x)
            guard xs.count >= 2, shape(n.output) == xs, c.count >= 1 else { continue }
            let channels = xs[1]
            // Right-aligned against x: size 1 everywhere but axis 1.
            let padded = [Int](repeating: 1, count: max(0, xs.count - c.shape.count)) + c.shape
            guard padded.count == xs.count, padded.enumerated().allSatisfy({ $0.offset == 1 || $0.element == 1 }) else { continue }
            if c.count == 1 {
                guard let p = producer[x], readers[x]?.count == 1, !outputs.contains(x) else { continue }
                switch nodes[p].op {
                case .conv, .fullyConnected, .batchNorm: break
                default: continue
                }
                if case .fullyConnected = nodes[p].op, xs.count != 2 { continue }
            } else if c.count != channels { continue }
            let v = (0..<channels).map { c.data[c.count == 1 ? 0 : $0] }
            var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
            switch (kind, constFirst) {
            case (0, _): shift = v
            case (1, false): shift = v.map { -$0 }
            case (1, true): scale = scale.map { -$0 }; shift = v
            case (2, _): scale = v
            case (3, false): scale = v.map { 1 / $0 }
            default: continue  // c / x is not affine
            }
            let sName = uniqueName(n.name + "#scale"), tName = uniqueName(n.name + "#shift")
            constants[sName] = Tensor(shape: [channels], data: scale)
            shapes[sName] = [channels]
            constants[tName] = Tensor(shape: [channels], data: shift)
            shapes[tName] = [channels]
            nodes[i] = Node(name: n.name, op: .batchNorm, inputs: [x, sName, tName], output: n.output)
        }
        removeUnused()
    }

    /// A `batchNorm` whose input is another one that nothing else reads becomes one affine op.
    public mutating func mergeBatchNorms() {
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { producer[n.output] = i }
        let readers = consumers()
        var removed = Set<Int>()
        for (i, n) in nodes.enumerated() {
            guard case .batchNorm = n.op, let p = producer[n.inputs[0]], !removed.contains(p), case .batchNorm = nodes[p].op,
                  readers[n.inputs[0]]?.count == 1, !outputs.contains(n.inputs[0]),
                  let s1 = constants[nodes[p].inputs[1]], let t1 = constants[nodes[p].inputs[2]],
                  let s2 = constants[n.inputs[1]], let t2 = constants[n.inputs[2]], s1.count == s2.count else { continue }
            // y = (x·s1 + t1)·s2 + t2
            let scale = zip(s1.data, s2.data).map { $0 * $1 }
            let shift = (0..<s1.count).map { t1.data[$0] * s2.data[$0] + t2.data[$0] }
            let sName = uniqueName(n.name + "#merged_scale"), tName = uniqueName(n.name + "#merged_shift")
            constants[sName] = Tensor(shape: [scale.count], data: scale)
            shapes[sName] = [scale.count]
            constants[tName] = Tensor(shape: [shift.count], data: shift)
            shapes[tName] = [shift.count]
            nodes[i].inputs = [nodes[p].inputs[0], sName, tName]
            removed.insert(p)
        }
        if !removed.isEmpty { removeUnused() }
    }

    /// Collects every chain of single-activation element-wise nodes (activations, arithmetic
    /// with a scalar constant, and products like x·sigmoid(x) whose operands both derive from
    /// the same tensor) into one `elementwise` node per tensor read outside the chain. A Relu or
    /// Clip that a convolution's clamp absorbs is left alone, and so is a chain of one known
    /// activation; trees equal to hard-swish or sigmoid get those ops.
    public mutating func fuseElementwise() {
        let keep = Set(fusedActivations().values.map(\.activation))
        let maxSize = 64
        struct Expr { var root: String; var f: ScalarFunction; var size: Int }
        var expr: [String: Expr] = [:]
        func e(_ t: String) -> Expr { expr[t] ?? Expr(root: t, f: .x, size: 0) }
        var fusible = [Bool](repeating: false, count: nodes.count)
        for (i, n) in nodes.enumerated() where !keep.contains(i) {
            var new: Expr?
            if let f = ScalarFunction.of(n.op), let x = n.inputs.first, constants[x] == nil {
                let a = e(x)
                new = Expr(root: a.root, f: f.composed(with: a.f), size: a.size + 1)
            } else if n.inputs.count == 2, let b = Self.scalarBinary(n.op) {
                func operand(_ t: String) -> Expr? {
                    if let c = constants[t] { return c.count == 1 ? Expr(root: "", f: .constant(c.data[0]), size: 0) : nil }
                    return shape(t) == shape(n.output) ? e(t) : nil
                }
                if let l = operand(n.inputs[0]), let r = operand(n.inputs[1]) {
                    let roots = Set([l.root, r.root].filter { !$0.isEmpty })
                    if roots.count == 1, let root = roots.first {
                        new = Expr(root: root, f: .binary(b, l.f, r.f), size: l.size + r.size + 1)
                    }
                }
            }
            if let new, new.size <= maxSize {
                expr[n.output] = new
                fusible[i] = true
            }
        }
        let readers = consumers()
        var changed = false
        for (i, n) in nodes.enumerated() where fusible[i] {
            let outside = outputs.contains(n.output) || (readers[n.output] ?? []).contains { !fusible[$0] }
            guard outside, let ex = expr[n.output] else { continue }
            if ScalarFunction.of(n.op) != nil, n.inputs.first == ex.root, !(n.op.isElementwise) { continue }
            let op: Op
            if ex.f.matches(ScalarFunction.of(.hardSwish)!) { op = .hardSwish }
            else if ex.f.matches(.unary(.sigmoid, .x)) { op = .sigmoid }
            else if ex.f.matches(.unary(.relu, .x), tolerance: 0) { op = .relu }
            else { op = .elementwise(ex.f) }
            nodes[i] = Node(name: n.name, op: op, inputs: [ex.root], output: n.output)
            changed = true
        }
        if changed { removeUnused() }
    }

    static func scalarBinary(_ op: Op) -> ScalarFunction.Binary? {
        switch op {
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        default: return nil
        }
    }

    /// Transpose NCHW → NHWC, Reshape to [1, K], FullyConnected (how TFLite and TF-exported ONNX
    /// flatten an image): the weight columns are permuted instead and the transpose dropped.
    public mutating func foldTransposeIntoFullyConnected() {
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { producer[n.output] = i }
        let readers = consumers()
        var changed = false
        for (fi, f) in nodes.enumerated() {
            guard case .fullyConnected = f.op, let ri = producer[f.inputs[0]], case .reshape(let target) = nodes[ri].op,
                  target.count == 2, readers[nodes[ri].output]?.count == 1, !outputs.contains(nodes[ri].output),
                  let ti = producer[nodes[ri].inputs[0]], nodes[ti].op == .transpose(perm: [0, 2, 3, 1]),
                  readers[nodes[ti].output]?.count == 1, !outputs.contains(nodes[ti].output),
                  let w = constants[f.inputs[1]] else { continue }
            let xs = shape(nodes[ti].inputs[0])
            let (c, h, wd) = (xs[1], xs[2], xs[3])
            guard w.shape.count == 2, w.shape[1] == c * h * wd else { continue }
            // Columns in (h, w, c) order → (c, h, w).
            let permuted = Tensor(shape: [w.shape[0], h, wd, c], data: w.data).transposed([0, 3, 1, 2])
            let name = uniqueName(f.name + "#nchw_weight")
            constants[name] = Tensor(shape: w.shape, data: permuted.data)
            shapes[name] = w.shape
            nodes[fi].inputs[1] = name
            nodes[ri].inputs[0] = nodes[ti].inputs[0]
            changed = true
        }
        if changed { removeUnused() }
    }

    /// `base`, or `base#k` for the first k that names no tensor yet.
    func uniqueName(_ base: String) -> String {
        var n = base, k = 1
        while shapes[n] != nil || constants[n] != nil { n = "\(base)#\(k)"; k += 1 }
        return n
    }
}

extension Op {
    var isElementwise: Bool {
        if case .elementwise = self { return true }
        return false
    }
}
