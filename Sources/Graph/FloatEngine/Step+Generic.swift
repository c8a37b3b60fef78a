import Foundation
import Kernels

/// The ops that are cheap next to convolutions: activations, element-wise arithmetic, pooling,
/// and data movement. Written for clarity over raw speed.
extension Step {
    func executeGeneric(env: [String: Value], engine: FloatEngine, outShape: [Int]) throws -> Value {
        let x = try engine.value(node.inputs[0], env)
        switch node.op {
        case .relu: return x.map { max($0, 0) }
        case .clip(let lo, let hi): return x.map { min(max($0, lo), hi) }
        case .sigmoid: return x.map { 1 / (1 + exp(-$0)) }
        case .hardSigmoid(let a, let b): return x.map { min(max(a * $0 + b, 0), 1) }
        case .hardSwish: return x.map { $0 * min(max($0 / 6 + 0.5, 0), 1) }
        case .add, .sub, .mul, .div:
            let y = try engine.value(node.inputs[1], env)
            return binary(x, y, outShape: outShape)
        case .elementwise, .prelu, .resize, .convTranspose, .depthToSpace, .slice:
            return try executeResampling(x, env: env, engine: engine, outShape: outShape)
        case .globalAveragePool:
            let v = x.toNHWC()
            var out = [Float](repeating: 0, count: v.shape[1])
            v.data.withUnsafeBufferPointer { ip in
                out.withUnsafeMutableBufferPointer { op in
                    globalAveragePool(input: ip.baseAddress!, pixels: v.shape[2] * v.shape[3], channels: v.shape[1], output: op.baseAddress!)
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .averagePool(let p), .maxPool(let p):
            let v = x.toNHWC()
            let g = WindowGeometry(inH: v.shape[2], inW: v.shape[3], inC: v.shape[1], outH: outShape[2], outW: outShape[3],
                                   outC: outShape[1], kH: p.kernelShape[0], kW: p.kernelShape[1], strideH: p.strides[0],
                                   strideW: p.strides[1], padTop: p.pads[0], padLeft: p.pads[1], padBottom: p.pads[2],
                                   padRight: p.pads[3])
            var out = [Float](repeating: 0, count: outShape.reduce(1, *))
            v.data.withUnsafeBufferPointer { ip in
                out.withUnsafeMutableBufferPointer { op in
                    if case .maxPool = node.op {
                        maxPool2d(input: ip.baseAddress!, g: g, output: op.baseAddress!)
                    } else {
                        averagePool2d(input: ip.baseAddress!, g: g, countIncludePad: p.countIncludePad, output: op.baseAddress!)
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .reduceMean(let axes, _):
            return reduceMean(x.toLogical(), axes: axes, outShape: outShape)
        case .reshape:
            return Value(shape: outShape, nhwc: false, data: x.toLogical().data)
        case .transpose(let perm):
            let v = x.toLogical()
            return Value(shape: outShape, nhwc: false, data: transposeData(v.data, shape: v.shape, perm: perm))
        case .softmax(let axis):
            return softmax(x.toLogical(), axis: axis)
        case .pad(let pads, let value):
            return pad(x.toLogical(), pads: pads, value: value, outShape: outShape)
        case .concat(let axis):
            let parts = try node.inputs.map { try engine.value($0, env).toLogical() }
            return concat(parts, axis: axis, outShape: outShape)
        case .conv, .fullyConnected, .batchNorm:
            throw GraphError(node: node.name, op: node.op.name, "internal error: prepared op reached the generic path")
        }
    }

    /// Element-wise arithmetic with broadcasting. A rank-4 result is produced in NHWC order when
    /// the first operand is NHWC, so chains of convolutions never change layout.
    func binary(_ a: Value, _ b: Value, outShape: [Int]) -> Value {
        let f: (Float, Float) -> Float = switch node.op {
        case .add: { $0 + $1 }
        case .sub: { $0 - $1 }
        case .mul: { $0 * $1 }
        default: { $0 / $1 }
        }
        if a.shape == b.shape && a.nhwc == b.nhwc {
            var out = a.data
            out.withUnsafeMutableBufferPointer { o in b.data.withUnsafeBufferPointer { q in for i in 0..<o.count { o[i] = f(o[i], q[i]) } } }
            return Value(shape: outShape, nhwc: a.nhwc, data: out)
        }
        // Fast path: an NHWC activation times/plus a per-channel vector (squeeze-excite gates).
        if a.nhwc, a.shape == outShape, b.data.count == outShape[1], b.shape.count >= 3, b.shape.suffix(2) == [1, 1] {
            let c = outShape[1]
            var out = a.data
            out.withUnsafeMutableBufferPointer { o in
                b.data.withUnsafeBufferPointer { q in
                    var i = 0
                    while i < o.count {
                        for ch in 0..<c { o[i + ch] = f(o[i + ch], q[ch]) }
                        i += c
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        }
        let nhwc = outShape.count == 4 && (a.nhwc || b.nhwc)
        let r = outShape.count
        func broadcastStrides(_ v: Value) -> [Int] {
            let pad = r - v.shape.count
            let s = v.strides
            return (0..<r).map { i in i < pad || v.shape[i - pad] == 1 ? 0 : s[i - pad] }
        }
        // Iterate the output in its physical order: N, H, W, C for NHWC.
        let order = nhwc ? [0, 2, 3, 1] : Array(0..<r)
        let iterShape = order.map { outShape[$0] }
        let sa = broadcastStrides(a), sb = broadcastStrides(b)
        let xa = gather(count: outShape.reduce(1, *), shape: iterShape, strides: order.map { sa[$0] }, from: a.data)
        let xb = gather(count: outShape.reduce(1, *), shape: iterShape, strides: order.map { sb[$0] }, from: b.data)
        return Value(shape: outShape, nhwc: nhwc, data: zip(xa, xb).map(f))
    }

    func reduceMean(_ x: Value, axes: [Int], outShape: [Int]) -> Value {
        // Accumulate into the kept axes' positions.
        let keptShape = x.shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
        let ks = Tensor.strides(keptShape)
        let strides = x.shape.indices.map { axes.contains($0) ? 0 : ks[$0] }
        var sum = [Double](repeating: 0, count: keptShape.reduce(1, *))
        var idx = [Int](repeating: 0, count: x.shape.count)
        var off = 0
        for v in x.data {
            sum[off] += Double(v)
            var a = x.shape.count - 1
            while a >= 0 {
                idx[a] += 1
                off += strides[a]
                if idx[a] < x.shape[a] { break }
                off -= strides[a] * x.shape[a]
                idx[a] = 0
                a -= 1
            }
        }
        let n = Double(axes.reduce(1) { $0 * x.shape[$1] })
        return Value(shape: outShape, nhwc: false, data: sum.map { Float($0 / n) })
    }

    func softmax(_ x: Value, axis: Int) -> Value {
        let t = Tensor(shape: x.shape, data: x.data).softmax(axis: axis)
        return Value(shape: t.shape, nhwc: false, data: t.data)
    }

    func pad(_ x: Value, pads: [Int], value: Float, outShape: [Int]) -> Value {
        let r = x.shape.count
        var out = [Float](repeating: value, count: outShape.reduce(1, *))
        let os = Tensor.strides(outShape)
        let base = (0..<r).reduce(0) { $0 + pads[$1] * os[$1] }
        var idx = [Int](repeating: 0, count: r)
        var off = base
        for v in x.data {
            out[off] = v
            var a = r - 1
            while a >= 0 {
                idx[a] += 1
                off += os[a]
                if idx[a] < x.shape[a] { break }
                off -= os[a] * x.shape[a]
                idx[a] = 0
                a -= 1
            }
        }
        return Value(shape: outShape, nhwc: false, data: out)
    }

    func concat(_ parts: [Value], axis: Int, outShape: [Int]) -> Value {
        let outer = outShape.prefix(axis).reduce(1, *)
        var out: [Float] = []
        out.reserveCapacity(outShape.reduce(1, *))
        for o in 0..<outer {
            for p in parts {
                let block = p.shape.dropFirst(axis).reduce(1, *)
                out.append(contentsOf: p.data[o * block..<(o + 1) * block])
            }
        }
        return Value(shape: outShape, nhwc: false, data: out)
    }
}

extension Value {
    func map(_ f: (Float) -> Float) -> Value {
        var v = self
        v.data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = f(p[i]) } }
        return v
    }
}
