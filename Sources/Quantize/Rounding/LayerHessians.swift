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
        var scratch: [Float] = []

        func accumulate(_ name: String, _ t: Tensor) {
            guard let cs = consumers[name] else { return }
            for c in cs {
                guard var lh = hs[c.node.name] else { continue }
                let d = c.d
                if let cv = c.conv {
                    guard t.shape.count == 4, c.out.count == 4 else { continue }
                    let (inH, inW) = (t.shape[2], t.shape[3])
                    let (outH, outW) = (c.out[2], c.out[3])
                    let pixels = outH * outW
                    let (kh, kw) = (cv.kernelShape[0], cv.kernelShape[1])
                    // Small H (depthwise taps): groups in parallel, one scratch block each.
                    let parallelGroups = d < 32 && c.groups > 1
                    let blocks = parallelGroups ? Swift.min(threads, c.groups) : 1
                    if scratch.count < blocks * d * pixels { scratch = [Float](repeating: 0, count: blocks * d * pixels) }
                    t.data.withUnsafeBufferPointer { x in
                        scratch.withUnsafeMutableBufferPointer { buf in
                            lh.h.withUnsafeMutableBufferPointer { h in
                                let sx = UncheckedSendable(x.baseAddress!), sb = UncheckedSendable(buf.baseAddress!), sh = UncheckedSendable(h.baseAddress!)
                                let perBlock = (c.groups + blocks - 1) / blocks
                                parallelChunks(c.groups, threads: blocks, grain: perBlock) { range in
                                    let block = range.lowerBound / perBlock
                                    let cols = sb.value + block * d * pixels
                                    for g in range {
                                        im2colColumns(sx.value, inH: inH, inW: inW, channel0: g * c.cinG, cinG: c.cinG, kH: kh, kW: kw,
                                                      strideH: cv.strides[0], strideW: cv.strides[1], dilationH: cv.dilations[0], dilationW: cv.dilations[1],
                                                      padTop: cv.pads[0], padLeft: cv.pads[1], outH: outH, outW: outW, out: cols)
                                        accumulateGram(cols, d: d, n: pixels, into: sh.value + g * d * d, threads: parallelGroups ? 1 : threads)
                                    }
                                }
                            }
                        }
                    }
                    lh.samples += pixels
                } else {
                    let rows = t.count / d
                    if scratch.count < d * rows { scratch = [Float](repeating: 0, count: d * rows) }
                    for r in 0..<rows { for j in 0..<d { scratch[j * rows + r] = t.data[r * d + j] } }
                    scratch.withUnsafeBufferPointer { cols in
                        lh.h.withUnsafeMutableBufferPointer { h in accumulateGram(cols.baseAddress!, d: d, n: rows, into: h.baseAddress!, threads: threads) }
                    }
                    lh.samples += rows
                }
                hs[c.node.name] = lh
            }
        }
        for b in 0..<images {
            try Interrupt.check()
            let x = inputs.item(b)
            accumulate(graph.inputs[0], x)
            _ = try engine.run(x) { name, t in accumulate(name, t) }
            if b == 0 || (b + 1) % 16 == 0 || b == images - 1 { progress?("hessians: image \(b + 1)/\(images)") }
        }
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
