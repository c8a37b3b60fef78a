import Graph
import Kernels

/// H = XᵀX of one weighted layer: X holds the layer's input rows over the calibration images
/// (im2col rows of a convolution, one row per output pixel; the input vectors of a fully
/// connected layer). A grouped convolution has one H per group; a depthwise one, one H per
/// channel over its kh·kw taps. Each H is d×d with d = input channels per group · kh · kw.
public struct LayerHessian: Sendable {
    public var layer: String
    public var groups: Int
    public var d: Int
    /// groups · d · d values, row-major per group.
    public var h: [Double]
    /// Rows of X summed into each H.
    public var samples: Int

    /// H of group `g` (a copy).
    public func matrix(_ g: Int) -> [Double] { Array(h[g * d * d..<(g + 1) * d * d]) }
}

/// The Hessians of every weighted layer, measured on the float model's activations (each layer
/// sees the float upstream, not the quantized one).
public struct LayerHessians: Sendable {
    public var layers: [String: LayerHessian]
    public var images: Int

    /// Runs the float model over `inputs` (a batch) and accumulates every weighted layer's H.
    public static func collect(graph: Graph, inputs: Tensor, threads: Int = 2, progress: ((String) -> Void)? = nil) throws -> LayerHessians {
        struct Consumer {
            var node: Node
            var conv: Conv2D?
            var d: Int
            var groups: Int
            var cinG: Int
            var out: [Int]
        }
        var consumers: [String: [Consumer]] = [:]
        var hs: [String: LayerHessian] = [:]
        for spec in graph.integerLayers() {
            guard case .weighted = spec.kind, let w = graph.constants[graph.nodes[spec.node].inputs[1]] else { continue }
            let n = graph.nodes[spec.node]
            var c: Consumer
            switch n.op {
            case .conv(let cv):
                c = Consumer(node: n, conv: cv, d: w.shape[1] * w.shape[2] * w.shape[3], groups: cv.group, cinG: w.shape[1], out: graph.shape(n.output))
            case .fullyConnected:
                c = Consumer(node: n, conv: nil, d: w.shape[1], groups: 1, cinG: w.shape[1], out: [])
            default: continue
            }
            consumers[n.inputs[0], default: []].append(c)
            hs[n.name] = LayerHessian(layer: n.name, groups: c.groups, d: c.d, h: [Double](repeating: 0, count: c.groups * c.d * c.d), samples: 0)
        }
        let engine = try FloatEngine(graph: graph, threads: threads)
        let images = inputs.shape[0]
        // Rows wait in a block of whole images until it holds at least 256 (small images and
        // fully connected layers give a few rows per image; short dots would dominate).
        struct Block {
            var cols: [Float]
            var cap: Int
            var n: Int
        }
        var blocks: [String: Block] = [:]

        func flush(_ c: Consumer) {
            guard blocks[c.node.name]?.n ?? 0 > 0, var b = blocks.removeValue(forKey: c.node.name), var lh = hs.removeValue(forKey: c.node.name) else { return }
            // (taken out of the dictionaries so the buffers below are written in place, not copied)
            let d = c.d, cap = b.cap, n = b.n
            // Small H (depthwise taps): groups in parallel; large H: the Gram rows in parallel.
            let parallelGroups = d < 32 && c.groups > 1
            if d >= 32 {
                // A large H: C = AᵀA through the float engine's GEMM (full matrix, Float sums), added in Double.
                for g in 0..<c.groups {
                    var rowMajor = [Float](repeating: 0, count: n * d)
                    for j in 0..<d { for p in 0..<n { rowMajor[p * d + j] = b.cols[g * d * cap + j * cap + p] } }
                    let panels = PackedPanels(k: n, n: d, rowMajor: rowMajor)
                    var cm = [Float](repeating: 0, count: d * d)
                    b.cols.withUnsafeBufferPointer { cols in
                        cm.withUnsafeMutableBufferPointer { cp in
                            gemm(a: cols.baseAddress! + g * d * cap, lda: cap, rows: d, b: panels, bias: nil, c: cp.baseAddress!, ldc: d,
                                 lo: -.infinity, hi: .infinity, threads: threads)
                        }
                    }
                    for i in 0..<(d * d) { lh.h[g * d * d + i] += Double(cm[i]) }
                }
            } else {
            b.cols.withUnsafeBufferPointer { cols in
                lh.h.withUnsafeMutableBufferPointer { h in
                    let sc = UncheckedSendable(cols.baseAddress!), sh = UncheckedSendable(h.baseAddress!)
                    parallelChunks(c.groups, threads: parallelGroups ? threads : 1) { range in
                        for g in range {
                            accumulateGram(sc.value + g * d * cap, d: d, n: n, ld: cap, into: sh.value + g * d * d, threads: parallelGroups ? 1 : threads)
                        }
                    }
                }
            }
            }
            lh.samples += n
            b.n = 0
            hs[c.node.name] = lh
            blocks[c.node.name] = b
        }

        func accumulate(_ name: String, _ t: Tensor) {
            guard let cs = consumers[name] else { return }
            for c in cs {
                let d = c.d
                let rowsPerImage: Int
                if c.conv != nil {
                    guard t.shape.count == 4, c.out.count == 4 else { continue }
                    rowsPerImage = c.out[2] * c.out[3]
                } else {
                    rowsPerImage = t.count / d
                }
                guard rowsPerImage > 0 else { continue }
                var b = blocks[c.node.name] ?? {
                    let cap = rowsPerImage * Swift.max(1, 256 / rowsPerImage)
                    return Block(cols: [Float](repeating: 0, count: c.groups * d * cap), cap: cap, n: 0)
                }()
                blocks[c.node.name] = nil  // unique ownership while writing
                let cap = b.cap, at = b.n
                if let cv = c.conv {
                    let (inH, inW) = (t.shape[2], t.shape[3])
                    t.data.withUnsafeBufferPointer { x in
                        b.cols.withUnsafeMutableBufferPointer { buf in
                            let sx = UncheckedSendable(x.baseAddress!), sb = UncheckedSendable(buf.baseAddress!)
                            parallelChunks(c.groups, threads: c.groups > 1 ? threads : 1) { range in
                                for g in range {
                                    im2colColumns(sx.value, inH: inH, inW: inW, channel0: g * c.cinG, cinG: c.cinG, kH: cv.kernelShape[0], kW: cv.kernelShape[1],
                                                  strideH: cv.strides[0], strideW: cv.strides[1], dilationH: cv.dilations[0], dilationW: cv.dilations[1],
                                                  padTop: cv.pads[0], padLeft: cv.pads[1], outH: c.out[2], outW: c.out[3],
                                                  out: sb.value + g * d * cap + at, ld: cap)
                                }
                            }
                        }
                    }
                } else {
                    for r in 0..<rowsPerImage { for j in 0..<d { b.cols[j * cap + at + r] = t.data[r * d + j] } }
                }
                b.n += rowsPerImage
                blocks[c.node.name] = b
                if b.n + rowsPerImage > cap { flush(c) }
            }
        }
        for b in 0..<images {
            try Interrupt.check()
            let x = inputs.item(b)
            accumulate(graph.inputs[0], x)
            _ = try engine.run(x) { name, t in accumulate(name, t) }
            if b == 0 || (b + 1) % 16 == 0 || b == images - 1 { progress?("hessians: image \(b + 1)/\(images)") }
        }
        for cs in consumers.values { for c in cs { flush(c) } }
        for (name, var lh) in hs {
            let d = lh.d
            lh.h.withUnsafeMutableBufferPointer { h in
                for g in 0..<lh.groups { symmetrize(h.baseAddress! + g * d * d, d: d) }
            }
            hs[name] = lh
        }
        return LayerHessians(layers: hs, images: images)
    }
}
