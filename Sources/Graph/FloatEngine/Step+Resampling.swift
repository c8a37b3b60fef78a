import Foundation

/// Float steps of the element-wise functions, PReLU and the ops that move pixels around:
/// Resize, ConvTranspose, DepthToSpace. Images are processed in NHWC.
extension Step {
    func executeResampling(_ x: Value, env: [String: Value], engine: FloatEngine, outShape: [Int]) throws -> Value {
        switch node.op {
        case .elementwise(let f):
            var v = x
            f.apply(&v.data)
            return v
        case .prelu:
            let slope = try engine.value(node.inputs[1], env).data
            var v = x
            let c = v.shape.count >= 2 ? v.shape[1] : 1
            let inner = v.nhwc ? 1 : v.shape.dropFirst(2).reduce(1, *)
            let period = v.nhwc ? c : c * inner
            v.data.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count where p[i] < 0 {
                    p[i] *= slope.count == 1 ? slope[0] : slope[(i % period) / inner]
                }
            }
            return v
        case .resize(let r):
            return resize(x.toNHWC(), r, outShape: outShape)
        case .depthToSpace(let b, let mode):
            return depthToSpace(x.toNHWC(), block: b, mode: mode, outShape: outShape)
        case .slice(let starts, _, let steps):
            let v = x.toLogical()
            let inStrides = Tensor.strides(v.shape)
            let base = starts.indices.reduce(0) { $0 + starts[$1] * inStrides[$1] }
            let data = gather(count: outShape.reduce(1, *), shape: outShape, strides: steps.indices.map { steps[$0] * inStrides[$0] },
                              from: Array(v.data[base...]))
            return Value(shape: outShape, nhwc: false, data: data)
        case .convTranspose(let c):
            guard let w = engine.graph.constants[node.inputs[1]] else {
                throw GraphError(node: node.name, op: node.op.name, "transposed convolution weights must be constants")
            }
            let bias = node.inputs.count > 2 ? engine.graph.constants[node.inputs[2]]?.data : nil
            return convTranspose(x.toNHWC(), c, weight: w, bias: bias, outShape: outShape)
        default:
            throw GraphError(node: node.name, op: node.op.name, "internal error: op reached the resampling path")
        }
    }

    func resize(_ x: Value, _ r: Resize, outShape: [Int]) -> Value {
        let (c, ih, iw) = (x.shape[1], x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        let ys = (0..<oh).map { sourceCoordinate($0, out: oh, in: ih, scale: r.scales[0], r) }
        let xs = (0..<ow).map { sourceCoordinate($0, out: ow, in: iw, scale: r.scales[1], r) }
        var out = [Float](repeating: 0, count: oh * ow * c)
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                if r.mode == .nearest {
                    let yi = ys.map { nearest($0, r.rounding, limit: ih) }, xi = xs.map { nearest($0, r.rounding, limit: iw) }
                    for oy in 0..<oh { for ox in 0..<ow {
                        let s = (yi[oy] * iw + xi[ox]) * c, d = (oy * ow + ox) * c
                        for ch in 0..<c { dst[d + ch] = src[s + ch] }
                    } }
                    return
                }
                func taps(_ v: Float, _ n: Int) -> (Int, Int, Float) {
                    let p = min(max(v, 0), Float(n - 1))
                    let lo = Int(p.rounded(.down))
                    return (lo, min(lo + 1, n - 1), p - Float(lo))
                }
                let ty = ys.map { taps($0, ih) }, tx = xs.map { taps($0, iw) }
                for oy in 0..<oh {
                    let (y0, y1, fy) = ty[oy]
                    for ox in 0..<ow {
                        let (x0, x1, fx) = tx[ox]
                        let a = (y0 * iw + x0) * c, b = (y0 * iw + x1) * c, e = (y1 * iw + x0) * c, f = (y1 * iw + x1) * c
                        let d = (oy * ow + ox) * c
                        // The four-weight sum, as TFLite and onnxruntime compute it.
                        let (w00, w01) = ((1 - fy) * (1 - fx), (1 - fy) * fx)
                        let (w10, w11) = (fy * (1 - fx), fy * fx)
                        for ch in 0..<c {
                            dst[d + ch] = src[a + ch] * w00 + src[e + ch] * w10 + src[b + ch] * w01 + src[f + ch] * w11
                        }
                    }
                }
            }
        }
        return Value(shape: outShape, nhwc: true, data: out)
    }

    /// The input coordinate of output pixel `o` (ONNX Resize's coordinate_transformation_mode).
    func sourceCoordinate(_ o: Int, out: Int, in n: Int, scale: Float, _ r: Resize) -> Float {
        r.sourceCoordinate(o, out: out, in: n, scale: scale)
    }

    func nearest(_ v: Float, _ mode: Resize.Rounding, limit: Int) -> Int {
        let r = Resize(mode: .nearest, coordinates: .asymmetric, rounding: mode, sizes: [], scales: [])
        return r.nearest(v, limit: limit)
    }

    func depthToSpace(_ x: Value, block b: Int, mode: DepthToSpaceMode, outShape: [Int]) -> Value {
        let (ci, h, w) = (x.shape[1], x.shape[2], x.shape[3])
        let co = outShape[1], ow = w * b
        var out = [Float](repeating: 0, count: x.data.count)
        x.data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h { for xx in 0..<w { for i in 0..<b { for j in 0..<b {
                    let d = ((y * b + i) * ow + xx * b + j) * co
                    let s = (y * w + xx) * ci
                    for c in 0..<co {
                        let ch = mode == .dcr ? (i * b + j) * co + c : c * b * b + i * b + j
                        dst[d + c] = src[s + ch]
                    }
                } } } }
            }
        }
        return Value(shape: outShape, nhwc: true, data: out)
    }

    func convTranspose(_ x: Value, _ c: ConvTranspose2D, weight w: Tensor, bias: [Float]?, outShape: [Int]) -> Value {
        let (cin, ih, iw) = (x.shape[1], x.shape[2], x.shape[3])
        let (cout, oh, ow) = (outShape[1], outShape[2], outShape[3])
        let (kh, kw) = (w.shape[2], w.shape[3])
        let g = c.group, cinG = cin / g, coutG = cout / g
        // [g][ky][kx][ci][co]: the inner loop runs over contiguous output channels.
        var wt = [Float](repeating: 0, count: w.count)
        for ci in 0..<cin { for co in 0..<coutG { for ky in 0..<kh { for kx in 0..<kw {
            let gr = ci / cinG
            wt[(((gr * kh + ky) * kw + kx) * cinG + ci % cinG) * coutG + co] = w.data[((ci * coutG + co) * kh + ky) * kw + kx]
        } } } }
        var out = [Float](repeating: 0, count: oh * ow * cout)
        if let bias { for p in 0..<(oh * ow) { for o in 0..<cout { out[p * cout + o] = bias[o] } } }
        x.data.withUnsafeBufferPointer { src in
            wt.withUnsafeBufferPointer { wp in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<ih { for xx in 0..<iw { for ky in 0..<kh {
                        let oy = y * c.strides[0] + ky * c.dilations[0] - c.pads[0]
                        guard oy >= 0, oy < oh else { continue }
                        for kx in 0..<kw {
                            let ox = xx * c.strides[1] + kx * c.dilations[1] - c.pads[1]
                            guard ox >= 0, ox < ow else { continue }
                            for gr in 0..<g {
                                let d = (oy * ow + ox) * cout + gr * coutG
                                for ci in 0..<cinG {
                                    let v = src[(y * iw + xx) * cin + gr * cinG + ci]
                                    let wb = (((gr * kh + ky) * kw + kx) * cinG + ci) * coutG
                                    for co in 0..<coutG { dst[d + co] += v * wp[wb + co] }
                                }
                            }
                        }
                    } } }
                }
            }
        }
        return Value(shape: outShape, nhwc: true, data: out)
    }
}
