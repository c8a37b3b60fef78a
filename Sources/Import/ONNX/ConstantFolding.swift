import Graph

/// Evaluates ONNX nodes whose inputs are all constants: the shape arithmetic exporters emit
/// (Shape → Gather → Unsqueeze → Concat → Reshape), Constant nodes, and reshapes or casts of
/// weights. Returns nil for ops it does not fold (they become graph nodes instead).
extension OnnxLowering {
    static let foldable: Set<String> = [
        "Constant", "Gather", "Cast", "Slice", "Concat", "Unsqueeze", "Squeeze", "Reshape", "Flatten",
        "Transpose", "Identity", "Dropout", "Add", "Sub", "Mul", "Div", "ConstantOfShape",
    ]

    func fold(_ n: OnnxNode, _ ins: [ConstTensor?]) throws -> ConstTensor? {
        func input(_ i: Int) throws -> ConstTensor {
            guard i < ins.count, let c = ins[i] else { throw ImportMessage("input \(i) is missing") }
            return c
        }
        switch n.opType {
        case "Constant":
            if case .tensor(let t)? = n.attributes["value"] { return try t.decode(bytes: bytes, modelDirectory: directory) }
            if case .float(let v)? = n.attributes["value_float"] { return ConstTensor(shape: [], values: .float([v])) }
            if case .floats(let v)? = n.attributes["value_floats"] { return ConstTensor(shape: [v.count], values: .float(v)) }
            if case .int(let v)? = n.attributes["value_int"] { return ConstTensor(shape: [], values: .int([v])) }
            if case .ints(let v)? = n.attributes["value_ints"] { return ConstTensor(shape: [v.count], values: .int(v)) }
            throw ImportMessage("Constant without a supported value attribute")
        case "Identity", "Dropout":
            return try input(0)
        case "Cast":
            let x = try input(0)
            let to = try attrInt(n, "to", nil)
            return [1, 10, 11, 16].contains(to) ? ConstTensor(shape: x.shape, values: .float(x.floats))
                : ConstTensor(shape: x.shape, values: .int(x.ints))
        case "Gather":
            let x = try input(0), idx = try input(1)
            let axis = try normAxis(try attrInt(n, "axis", 0), x.shape.count)
            let outer = x.shape.prefix(axis).reduce(1, *), inner = x.shape.dropFirst(axis + 1).reduce(1, *)
            let dim = x.shape[axis]
            var pick: [Int] = []
            for o in 0..<outer {
                for i in idx.ints {
                    let k = Int(i < 0 ? i + Int64(dim) : i)
                    guard k >= 0, k < dim else { throw ImportMessage("Gather index \(i) out of range for axis size \(dim)") }
                    for j in 0..<inner { pick.append((o * dim + k) * inner + j) }
                }
            }
            return x.select(pick, shape: Array(x.shape.prefix(axis)) + idx.shape + x.shape.dropFirst(axis + 1))
        case "Slice":
            let x = try input(0)
            var starts: [Int64], ends: [Int64], axes: [Int64], steps: [Int64]
            if opset < 10 {
                starts = try attrInts(n, "starts", nil); ends = try attrInts(n, "ends", nil)
                axes = try attrInts(n, "axes", starts.indices.map(Int64.init)); steps = starts.map { _ in 1 }
            } else {
                starts = try input(1).ints; ends = try input(2).ints
                axes = ins.count > 3 && ins[3] != nil ? try input(3).ints : starts.indices.map(Int64.init)
                steps = ins.count > 4 && ins[4] != nil ? try input(4).ints : starts.map { _ in 1 }
            }
            var ranges = x.shape.map { Array(0..<$0) }
            for (k, a) in axes.enumerated() {
                let ax = try normAxis(Int(a), x.shape.count), d = Int64(x.shape[ax])
                let st = steps[k]
                guard st != 0 else { throw ImportMessage("Slice step 0") }
                func clampIdx(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(v < 0 ? v + d : v, lo), hi) }
                var sel: [Int] = []
                if st > 0 {
                    var i = clampIdx(starts[k], 0, d); let e = clampIdx(ends[k], 0, d)
                    while i < e { sel.append(Int(i)); i += st }
                } else {
                    var i = clampIdx(starts[k], -1, d - 1); let e = clampIdx(ends[k], -1, d - 1)
                    while i > e { sel.append(Int(i)); i += st }
                }
                ranges[ax] = sel
            }
            return x.select(gatherIndices(x.shape, ranges), shape: ranges.map(\.count))
        case "Concat":
            let parts = try ins.indices.map { try input($0) }
            guard let first = parts.first else { throw ImportMessage("Concat of nothing") }
            let axis = try normAxis(try attrInt(n, "axis", nil), first.shape.count)
            let outer = first.shape.prefix(axis).reduce(1, *)
            var shape = first.shape
            shape[axis] = parts.reduce(0) { $0 + $1.shape[axis] }
            if parts.allSatisfy({ !$0.isFloat }) {
                var out: [Int64] = []
                for o in 0..<outer { for p in parts { let b = p.shape.dropFirst(axis).reduce(1, *); out += p.ints[o * b..<(o + 1) * b] } }
                return ConstTensor(shape: shape, values: .int(out))
            }
            var out: [Float] = []
            for o in 0..<outer { for p in parts { let b = p.shape.dropFirst(axis).reduce(1, *); out += p.floats[o * b..<(o + 1) * b] } }
            return ConstTensor(shape: shape, values: .float(out))
        case "Unsqueeze", "Squeeze", "Reshape", "Flatten":
            var x = try input(0)
            x.shape = try reshapeTarget(n, input: x.shape, shapeInput: ins.count > 1 ? ins[1] : nil)
            return x
        case "Transpose":
            let x = try input(0)
            let perm = try attrInts(n, "perm", Array((0..<Int64(x.shape.count)).reversed())).map { Int($0) }
            guard perm.sorted() == Array(0..<x.shape.count) else { throw ImportMessage("perm \(perm) does not fit rank \(x.shape.count)") }
            let st = Tensor.strides(x.shape)
            let outShape = perm.map { x.shape[$0] }
            return x.select(stridedIndices(outShape, perm.map { st[$0] }), shape: outShape)
        case "Add", "Sub", "Mul", "Div":
            let a = try input(0), b = try input(1)
            let shape = try broadcast(a.shape, b.shape) { ImportMessage($0) }
            let ia = broadcastIndices(a.shape, to: shape), ib = broadcastIndices(b.shape, to: shape)
            if !a.isFloat && !b.isFloat {
                let (x, y) = (a.ints, b.ints)
                return ConstTensor(shape: shape, values: .int(zip(ia, ib).map { i, j -> Int64 in
                    switch n.opType {
                    case "Add": return x[i] &+ y[j]
                    case "Sub": return x[i] &- y[j]
                    case "Mul": return x[i] &* y[j]
                    default: return y[j] == 0 ? 0 : x[i] / y[j]
                    }
                }))
            }
            let (x, y) = (a.floats, b.floats)
            return ConstTensor(shape: shape, values: .float(zip(ia, ib).map { i, j -> Float in
                switch n.opType {
                case "Add": return x[i] + y[j]
                case "Sub": return x[i] - y[j]
                case "Mul": return x[i] * y[j]
                default: return x[i] / y[j]
                }
            }))
        case "ConstantOfShape":
            let dims = try input(0).ints
            guard let count = checkedCount(dims) else { throw ImportMessage("ConstantOfShape with invalid shape \(dims)") }
            var value = ConstTensor(shape: [], values: .float([0]))
            if case .tensor(let t)? = n.attributes["value"] { value = try t.decode(bytes: bytes, modelDirectory: directory) }
            return value.select([Int](repeating: 0, count: count), shape: dims.map { Int($0) })
        default:
            return nil
        }
    }
}

func normAxis(_ a: Int, _ rank: Int) throws -> Int {
    let r = a < 0 ? a + rank : a
    guard r >= 0, r < max(rank, 1) else { throw ImportMessage("axis \(a) is out of range for rank \(rank)") }
    return r
}

func normAxis(_ a: Int64, _ rank: Int) throws -> Int { try normAxis(Int(a), rank) }

/// Flat indices of the cartesian product of per-axis index lists.
func gatherIndices(_ shape: [Int], _ ranges: [[Int]]) -> [Int] {
    let st = Tensor.strides(shape)
    var out = [0]
    for (a, r) in ranges.enumerated() { out = out.flatMap { base in r.map { base + $0 * st[a] } } }
    return out
}

/// Flat indices visiting `shape` row-major with the given source strides.
func stridedIndices(_ shape: [Int], _ strides: [Int]) -> [Int] {
    var out = [0]
    for a in shape.indices { out = out.flatMap { base in (0..<shape[a]).map { base + $0 * strides[a] } } }
    return out
}

/// Source index of each element of `to` when broadcasting from `from`.
func broadcastIndices(_ from: [Int], to: [Int]) -> [Int] {
    let pad = to.count - from.count
    let st = Tensor.strides(from)
    var out = [0]
    for a in to.indices {
        let s = a < pad || from[a - pad] == 1 ? 0 : st[a - pad]
        out = out.flatMap { base in (0..<to[a]).map { base + $0 * s } }
    }
    return out
}
