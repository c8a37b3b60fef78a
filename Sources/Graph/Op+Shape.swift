/// Shape inference, one rule per op. Throws a `GraphError` naming the node on any mismatch.
extension Op {
    public func outputShape(_ ins: [[Int]], node: String) throws -> [Int] {
        func fail(_ m: String) -> GraphError { GraphError(node: node, op: name, m) }
        func need(_ n: Int) throws { if ins.count < n { throw fail("expects \(n) inputs, has \(ins.count)") } }
        try need(1)
        let x = ins[0]
        switch self {
        case .conv(let c):
            try need(2)
            let w = ins[1]
            guard x.count == 4, w.count == 4 else { throw fail("only 2-D convolutions on NCHW inputs are supported (input \(x), weight \(w))") }
            guard c.group >= 1, x[1] % c.group == 0, w[0] % c.group == 0, w[1] * c.group == x[1] else {
                throw fail("weight \(w) does not fit input channels \(x[1]) with group \(c.group)")
            }
            if ins.count > 2, ins[2] != [w[0]] { throw fail("bias shape \(ins[2]) should be [\(w[0])]") }
            let oh = try windowOut(x[2], k: w[2], s: c.strides[0], d: c.dilations[0], p0: c.pads[0], p1: c.pads[2], ceil: false, fail)
            let ow = try windowOut(x[3], k: w[3], s: c.strides[1], d: c.dilations[1], p0: c.pads[1], p1: c.pads[3], ceil: false, fail)
            return [x[0], w[0], oh, ow]
        case .fullyConnected:
            try need(2)
            let w = ins[1]
            guard w.count == 2, let last = x.last, last == w[1] else { throw fail("input \(x) does not match weight \(w) ([out][in])") }
            if ins.count > 2, ins[2] != [w[0]] { throw fail("bias shape \(ins[2]) should be [\(w[0])]") }
            return Array(x.dropLast()) + [w[0]]
        case .batchNorm:
            guard x.count >= 2 else { throw fail("needs a channel axis, input is \(x)") }
            return x
        case .relu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .elementwise:
            return x
        case .prelu:
            try need(2)
            let s = ins[1]
            let c = x.count >= 2 ? x[1] : 1
            guard s == [1] || s == [c] else { throw fail("slope shape \(s) should be [\(c)] (per channel) or [1]") }
            return x
        case .add, .sub, .mul, .div:
            try need(2)
            return try broadcast(ins[0], ins[1], fail)
        case .globalAveragePool:
            guard x.count == 4 else { throw fail("expects an NCHW input, got \(x)") }
            return [x[0], x[1], 1, 1]
        case .averagePool(let p), .maxPool(let p):
            guard x.count == 4 else { throw fail("expects an NCHW input, got \(x)") }
            let oh = try windowOut(x[2], k: p.kernelShape[0], s: p.strides[0], d: 1, p0: p.pads[0], p1: p.pads[2], ceil: p.ceilMode, fail)
            let ow = try windowOut(x[3], k: p.kernelShape[1], s: p.strides[1], d: 1, p0: p.pads[1], p1: p.pads[3], ceil: p.ceilMode, fail)
            return [x[0], x[1], oh, ow]
        case .reduceMean(let axes, let keep):
            var out: [Int] = []
            for (i, d) in x.enumerated() {
                if axes.contains(i) { if keep { out.append(1) } } else { out.append(d) }
            }
            return out
        case .reshape(let shape):
            guard shape.reduce(1, *) == x.reduce(1, *) else { throw fail("cannot reshape \(x) to \(shape)") }
            return shape
        case .transpose(let perm):
            guard perm.sorted() == Array(0..<x.count) else { throw fail("perm \(perm) does not fit rank \(x.count)") }
            return perm.map { x[$0] }
        case .softmax(let axis):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range for \(x)") }
            return x
        case .pad(let pads, _):
            guard pads.count == 2 * x.count else { throw fail("pads \(pads) do not fit rank \(x.count)") }
            // The graph runs one image at a time: the batch axis cannot grow.
            guard pads[0] == 0, pads[x.count] == 0 else { throw fail("pads \(pads) pad the batch axis, which is not supported") }
            let out = x.indices.map { x[$0] + pads[$0] + pads[$0 + x.count] }
            guard out.allSatisfy({ $0 > 0 }) else { throw fail("pads \(pads) leave an empty tensor") }
            return out
        case .concat(let axis):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range for \(x)") }
            guard axis > 0 || ins.count == 1 else { throw fail("concatenation along the batch axis is not supported (one image at a time)") }
            var out = x
            for s in ins.dropFirst() {
                guard s.count == x.count, s.indices.allSatisfy({ $0 == axis || s[$0] == x[$0] }) else {
                    throw fail("input shapes \(ins) differ outside axis \(axis)")
                }
                out[axis] += s[axis]
            }
            return out
        case .resize(let r):
            guard x.count == 4, r.sizes.count == 2, r.scales.count == 2, r.sizes.allSatisfy({ $0 > 0 }), r.scales.allSatisfy({ $0 > 0 }) else {
                throw fail("resizes the H and W of an NCHW image to positive sizes (input \(x), sizes \(r.sizes), scales \(r.scales))")
            }
            return [x[0], x[1], r.sizes[0], r.sizes[1]]
        case .convTranspose(let c):
            try need(2)
            let w = ins[1]
            guard x.count == 4, w.count == 4 else { throw fail("only 2-D transposed convolutions on NCHW inputs are supported (input \(x), weight \(w))") }
            guard c.group >= 1, w[0] == x[1], x[1] % c.group == 0, [w[2], w[3]] == c.kernelShape else {
                throw fail("weight \(w) does not fit input channels \(x[1]) with group \(c.group) and kernel \(c.kernelShape)")
            }
            let cout = w[1] * c.group
            if ins.count > 2, ins[2] != [cout] { throw fail("bias shape \(ins[2]) should be [\(cout)]") }
            guard c.strides.allSatisfy({ $0 >= 1 }), c.dilations.allSatisfy({ $0 >= 1 }), c.pads.allSatisfy({ $0 >= 0 }),
                  c.outputPadding.allSatisfy({ $0 >= 0 }) else { throw fail("invalid strides, dilations or pads") }
            let oh = c.outputSize(x[2], axis: 0), ow = c.outputSize(x[3], axis: 1)
            guard oh > 0, ow > 0 else { throw fail("pads \(c.pads) leave an empty output") }
            return [x[0], cout, oh, ow]
        case .slice(let starts, let ends, let steps):
            guard starts.count == x.count, ends.count == x.count, steps.count == x.count,
                  x.indices.allSatisfy({ starts[$0] >= 0 && starts[$0] < ends[$0] && ends[$0] <= x[$0] && steps[$0] >= 1 }) else {
                throw fail("slice \(starts)..<\(ends) by \(steps) does not fit \(x) (or is empty)")
            }
            return x.indices.map { (ends[$0] - starts[$0] + steps[$0] - 1) / steps[$0] }
        case .depthToSpace(let b, _):
            guard x.count == 4, b >= 1, x[1] % (b * b) == 0 else { throw fail("input \(x) channels are not a multiple of block size \(b)²") }
            return [x[0], x[1] / (b * b), x[2] * b, x[3] * b]
        }
    }
}

/// Output length of a sliding window (ONNX conv and pool rule).
func windowOut(_ n: Int, k: Int, s: Int, d: Int, p0: Int, p1: Int, ceil: Bool, _ fail: (String) -> GraphError) throws -> Int {
    guard k >= 1, s >= 1, d >= 1, p0 >= 0, p1 >= 0 else { throw fail("invalid window (kernel \(k), stride \(s), dilation \(d), pads \(p0),\(p1))") }
    let (extent, o) = d.multipliedReportingOverflow(by: k - 1)
    guard !o, extent < 1 << 40, n < 1 << 40, p0 < 1 << 40, p1 < 1 << 40 else { throw fail("window \(k) (dilation \(d)) or pads \(p0),\(p1) are absurd") }
    let span = n + p0 + p1 - extent - 1
    guard span >= 0 else { throw fail("window \(k) (dilation \(d)) is larger than the padded input \(n + p0 + p1)") }
    var out = (ceil ? (span + s - 1) / s : span / s) + 1
    // ceil_mode: the last window must start inside the input or left padding.
    if ceil, (out - 1) * s >= n + p0 { out -= 1 }
    return out
}

/// NumPy broadcasting of two shapes.
public func broadcast<E: Error>(_ a: [Int], _ b: [Int], _ fail: (String) -> E) throws -> [Int] {
    let r = max(a.count, b.count)
    let pa = [Int](repeating: 1, count: r - a.count) + a
    let pb = [Int](repeating: 1, count: r - b.count) + b
    return try (0..<r).map { i in
        if pa[i] == pb[i] || pb[i] == 1 { return pa[i] }
        if pa[i] == 1 { return pb[i] }
        throw fail("shapes \(a) and \(b) do not broadcast")
    }
}
