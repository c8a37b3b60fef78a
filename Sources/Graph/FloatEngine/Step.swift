import Kernels

/// One node, prepared for its kernel.
struct Step: Sendable {
    enum Kernel: Sendable {
        /// 1×1, stride 1, no padding: the NHWC input is already the GEMM's A matrix.
        case pointwise(PackedPanels, bias: [Float]?)
        case im2col(WindowGeometry, PackedPanels, bias: [Float]?)
        case depthwise(WindowGeometry, [Float], bias: [Float]?)
        case grouped(WindowGeometry, groups: Int, [Float], bias: [Float]?)
        case fullyConnected(PackedPanels, bias: [Float]?)
        case batchNorm(scale: [Float], shift: [Float])
        /// Everything else runs straight from `node.op`.
        case generic
    }

    var node: Node
    var kernel: Kernel
    /// Fused activation clamp (conv and fully connected only).
    var lo: Float
    var hi: Float

    static func prepare(_ node: Node, graph: Graph, lo: Float, hi: Float) throws -> Step {
        func const(_ i: Int) -> Tensor? { i < node.inputs.count ? graph.constants[node.inputs[i]] : nil }
        func fail(_ m: String) -> GraphError { GraphError(node: node.name, op: node.op.name, m) }
        switch node.op {
        case .conv(let c):
            guard let w = const(1) else { throw fail("convolution weights must be constants") }
            let bias = const(2)?.data
            if node.inputs.count > 2 && bias == nil { throw fail("convolution bias must be a constant") }
            let x = graph.shape(node.inputs[0]), y = graph.shape(node.output)
            let (cout, cinG, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
            let g = WindowGeometry(inH: x[2], inW: x[3], inC: x[1], outH: y[2], outW: y[3], outC: cout, kH: kh, kW: kw,
                                   strideH: c.strides[0], strideW: c.strides[1], dilationH: c.dilations[0],
                                   dilationW: c.dilations[1], padTop: c.pads[0], padLeft: c.pads[1])
            let wd = w.data
            if c.group == 1 {
                let panels = PackedPanels(k: kh * kw * cinG, n: cout) { k, co in
                    let ci = k % cinG, kx = (k / cinG) % kw, ky = k / (cinG * kw)
                    return wd[((co * cinG + ci) * kh + ky) * kw + kx]
                }
                let pointwise = kh == 1 && kw == 1 && c.strides == [1, 1] && c.pads == [0, 0, 0, 0]
                return Step(node: node, kernel: pointwise ? .pointwise(panels, bias: bias) : .im2col(g, panels, bias: bias),
                            lo: lo, hi: hi)
            }
            if c.group == x[1] && cout == x[1] {
                var dw = [Float](repeating: 0, count: kh * kw * cout)
                for ch in 0..<cout { for ky in 0..<kh { for kx in 0..<kw { dw[(ky * kw + kx) * cout + ch] = wd[(ch * kh + ky) * kw + kx] } } }
                return Step(node: node, kernel: .depthwise(g, dw, bias: bias), lo: lo, hi: hi)
            }
            let coutG = cout / c.group
            var gw = [Float](repeating: 0, count: wd.count)
            for co in 0..<cout {
                let gr = co / coutG, o = co % coutG
                for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                    gw[(((gr * kh + ky) * kw + kx) * cinG + ci) * coutG + o] = wd[((co * cinG + ci) * kh + ky) * kw + kx]
                } } }
            }
            return Step(node: node, kernel: .grouped(g, groups: c.group, gw, bias: bias), lo: lo, hi: hi)
        case .fullyConnected:
            guard let w = const(1) else { throw fail("fully connected weights must be constants") }
            let (out, inn) = (w.shape[0], w.shape[1])
            let wd = w.data
            let panels = PackedPanels(k: inn, n: out) { k, o in wd[o * inn + k] }
            return Step(node: node, kernel: .fullyConnected(panels, bias: const(2)?.data), lo: lo, hi: hi)
        case .batchNorm:
            guard let s = const(1), let t = const(2) else { throw fail("scale and shift must be constants") }
            return Step(node: node, kernel: .batchNorm(scale: s.data, shift: t.data), lo: lo, hi: hi)
        default:
            return Step(node: node, kernel: .generic, lo: lo, hi: hi)
        }
    }

    /// True for the kernels that write every element of a fresh output (so a planned, reused
    /// buffer can be handed to them without clearing).
    var writesPlannedBuffer: Bool {
        switch kernel {
        case .pointwise, .im2col, .depthwise, .grouped, .fullyConnected: return true
        case .batchNorm, .generic: return false
        }
    }

    /// `reuse`: a buffer the engine planned for this step's output (taken over when its size
    /// fits), or empty.
    func execute(env: [String: Value], engine: FloatEngine, reuse: inout [Float]) throws -> Value {
        let outShape = engine.graph.shape(node.output)
        let threads = engine.threads
        let count = outShape.reduce(1, *)
        /// The output array: the planned buffer, or a new one whose every element the kernel writes.
        func output() -> [Float] {
            if reuse.count == count {
                var out: [Float] = []
                swap(&out, &reuse)
                return out
            }
            return [Float](unsafeUninitializedCapacity: count) { _, n in n = count }
        }
        switch kernel {
        case .pointwise(let panels, let bias):
            let x = try engine.value(node.inputs[0], env).toNHWC()
            var out = output()
            let rows = x.shape[2] * x.shape[3]
            withOptional(bias) { bp in
                x.data.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { op in
                        gemm(a: xp.baseAddress!, lda: panels.k, rows: rows, b: panels, bias: bp, c: op.baseAddress!,
                             ldc: panels.n, lo: lo, hi: hi, threads: threads)
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .im2col(let g, let panels, let bias):
            let x = try engine.value(node.inputs[0], env).toNHWC()
            var out = output()
            withOptional(bias) { bp in
                x.data.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { op in
                        conv2dIm2col(input: xp.baseAddress!, g: g, weights: panels, bias: bp, output: op.baseAddress!,
                                     lo: lo, hi: hi, threads: threads)
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .depthwise(let g, let w, let bias):
            let x = try engine.value(node.inputs[0], env).toNHWC()
            var out = output()
            withOptional(bias) { bp in
                x.data.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        out.withUnsafeMutableBufferPointer { op in
                            depthwiseConv2d(input: xp.baseAddress!, g: g, weights: wp.baseAddress!, bias: bp,
                                            output: op.baseAddress!, lo: lo, hi: hi, threads: threads)
                        }
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .grouped(let g, let groups, let w, let bias):
            let x = try engine.value(node.inputs[0], env).toNHWC()
            var out = output()
            withOptional(bias) { bp in
                x.data.withUnsafeBufferPointer { xp in
                    w.withUnsafeBufferPointer { wp in
                        out.withUnsafeMutableBufferPointer { op in
                            groupedConv2d(input: xp.baseAddress!, g: g, groups: groups, weights: wp.baseAddress!, bias: bp,
                                          output: op.baseAddress!, lo: lo, hi: hi, threads: threads)
                        }
                    }
                }
            }
            return Value(shape: outShape, nhwc: true, data: out)
        case .fullyConnected(let panels, let bias):
            let x = try engine.value(node.inputs[0], env).toLogical()
            var out = output()
            let rows = x.data.count / panels.k
            withOptional(bias) { bp in
                x.data.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { op in
                        gemm(a: xp.baseAddress!, lda: panels.k, rows: rows, b: panels, bias: bp, c: op.baseAddress!,
                             ldc: panels.n, lo: lo, hi: hi, threads: threads)
                    }
                }
            }
            return Value(shape: outShape, nhwc: false, data: out)
        case .batchNorm(let scale, let shift):
            var x = try engine.value(node.inputs[0], env)
            let c = x.shape[1]
            let inner = x.nhwc ? 1 : x.shape.dropFirst(2).reduce(1, *)
            let period = x.nhwc ? c : c * inner
            for i in 0..<x.data.count {
                let ch = (i % period) / inner
                x.data[i] = x.data[i] * scale[ch] + shift[ch]
            }
            return x
        case .generic:
            if let v = try executeFast(env: env, engine: engine, outShape: outShape) { return v }
            return try executeGeneric(env: env, engine: engine, outShape: outShape)
        }
    }
}

/// Calls `body` with a pointer to `array`'s storage, or nil.
func withOptional<R>(_ array: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0.baseAddress) }
}
