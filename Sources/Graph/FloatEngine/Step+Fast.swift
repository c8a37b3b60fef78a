import Kernels

/// Fast paths for the cheap ops that still cost time at 224×224 in the MobileNet family:
/// residual additions, squeeze-excite gates and spatial means over NHWC activations. Anything
/// else returns nil and runs on the generic path.
extension Step {
    func executeFast(env: [String: Value], engine: FloatEngine, outShape: [Int]) throws -> Value? {
        switch node.op {
        case .add, .mul:
            guard node.inputs.count == 2 else { return nil }
            let a = try engine.value(node.inputs[0], env), b = try engine.value(node.inputs[1], env)
            let count = outShape.reduce(1, *)
            let multiply: Bool
            if case .mul = node.op { multiply = true } else { multiply = false }
            if a.shape == outShape && b.shape == outShape && a.nhwc == b.nhwc {
                let out = [Float](unsafeUninitializedCapacity: count) { o, n in
                    a.data.withUnsafeBufferPointer { ap in
                        b.data.withUnsafeBufferPointer { bp in
                            elementwise(ap.baseAddress!, bp.baseAddress!, o.baseAddress!, count: count, multiply: multiply)
                        }
                    }
                    n = count
                }
                return Value(shape: outShape, nhwc: a.nhwc, data: out)
            }
            // An NHWC activation times a [1, C, 1, 1] gate (either operand order).
            guard multiply, outShape.count == 4, outShape[0] == 1 else { return nil }
            let (x, g) = a.shape == outShape ? (a, b) : (b, a)
            guard x.shape == outShape, x.nhwc, g.data.count == outShape[1], g.shape.count == 4, g.shape[2] == 1, g.shape[3] == 1 else {
                return nil
            }
            let out = [Float](unsafeUninitializedCapacity: count) { o, n in
                x.data.withUnsafeBufferPointer { xp in
                    g.data.withUnsafeBufferPointer { gp in
                        scaleChannels(xp.baseAddress!, pixels: outShape[2] * outShape[3], channels: outShape[1], scale: gp.baseAddress!,
                                      o.baseAddress!)
                    }
                }
                n = count
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .reduceMean(let axes, _):
            // The mean over H and W of an NHWC activation: a global average pool.
            let x = try engine.value(node.inputs[0], env)
            guard x.nhwc, x.shape.count == 4, x.shape[0] == 1, Set(axes) == [2, 3] else { return nil }
            let c = x.shape[1]
            let out = [Float](unsafeUninitializedCapacity: c) { o, n in
                x.data.withUnsafeBufferPointer { xp in
                    globalAveragePool(input: xp.baseAddress!, pixels: x.shape[2] * x.shape[3], channels: c, output: o.baseAddress!)
                }
                n = c
            }
            return Value(shape: outShape, nhwc: false, data: out)
        default:
            return nil
        }
    }
}
