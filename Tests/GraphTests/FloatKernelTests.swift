import Graph
import Kernels
import TestSupport
import Testing

/// The float engine's convolution paths (pointwise GEMM, im2col, depthwise, grouped) and pools
/// against a plain NCHW definition, over random geometries.
@Suite struct FloatKernelTests {
    /// Direct NCHW convolution, straight from the definition.
    func referenceConv(_ x: Tensor, _ w: Tensor, _ b: [Float], _ c: Conv2D, out: [Int]) -> [Float] {
        let (cin, h, wd) = (x.shape[1], x.shape[2], x.shape[3])
        let (cout, cinG, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        let coutG = cout / c.group
        var y = [Float](repeating: 0, count: out.reduce(1, *))
        for co in 0..<cout {
            let g = co / coutG
            for oy in 0..<out[2] {
                for ox in 0..<out[3] {
                    var acc = Double(b[co])
                    for ci in 0..<cinG {
                        for ky in 0..<kh {
                            for kx in 0..<kw {
                                let iy = oy * c.strides[0] - c.pads[0] + ky * c.dilations[0]
                                let ix = ox * c.strides[1] - c.pads[1] + kx * c.dilations[1]
                                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                acc += Double(x.data[((g * cinG + ci) * h + iy) * wd + ix]) * Double(w.data[((co * cinG + ci) * kh + ky) * kw + kx])
                            }
                        }
                    }
                    y[((co) * out[2] + oy) * out[3] + ox] = Float(acc)
                }
            }
        }
        _ = cin
        return y
    }

    func random(_ shape: [Int], _ rng: inout SeededRandom) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
    }

    @Test(arguments: 0..<40)
    func convolutionMatchesDefinition(seed: Int) throws {
        var rng = SeededRandom(seed: UInt64(seed))
        let kind = seed % 4  // 0 pointwise, 1 full, 2 depthwise, 3 grouped
        let group = [1, 1, 0, 2][kind]
        let cin = kind == 3 ? 2 * Int.random(in: 1...5, using: &rng) : Int.random(in: 1...19, using: &rng)
        let g = group == 0 ? cin : group
        let cout = kind == 2 ? cin : g * Int.random(in: 1...11, using: &rng)
        let k = kind == 0 ? 1 : [1, 3, 5][Int.random(in: 0...2, using: &rng)]
        let s = kind == 0 ? 1 : Int.random(in: 1...2, using: &rng)
        let d = kind == 0 ? 1 : Int.random(in: 1...2, using: &rng)
        let pads = kind == 0 ? [0, 0, 0, 0] : (0..<4).map { _ in Int.random(in: 0...2, using: &rng) }
        let span = (k - 1) * d + 1
        let h = Int.random(in: span...span + 8, using: &rng), w = Int.random(in: span...span + 8, using: &rng)
        let conv = Conv2D(kernelShape: [k, k], strides: [s, s], dilations: [d, d], pads: pads, group: g)
        var graph = Graph(name: "t", inputs: ["x"], outputs: ["y"])
        graph.shapes["x"] = [1, cin, h, w]
        let wt = random([cout, cin / g, k, k], &rng)
        let bias = (0..<cout).map { _ in Float.random(in: -1...1, using: &rng) }
        graph.constants["w"] = wt
        graph.constants["b"] = Tensor(shape: [cout], data: bias)
        graph.shapes["w"] = wt.shape
        graph.shapes["b"] = [cout]
        try graph.append(Node(name: "conv", op: .conv(conv), inputs: ["x", "w", "b"], output: "y"))
        let x = random([1, cin, h, w], &rng)
        let y = try FloatEngine(graph: graph, threads: 2).run(x)[0]
        let ref = referenceConv(x, wt, bias, conv, out: graph.shape("y"))
        #expect(relativeMaxError(y.data, ref) < 1e-5, "kind \(kind) cin \(cin) cout \(cout) k \(k) s \(s) d \(d) pads \(pads) \(h)x\(w)")
    }

    @Test func averagePoolCountsPaddingOnlyWhenAsked() throws {
        // 1 channel 2x2 input of ones, 3x3 window, pads 1: corner windows hold 4 real pixels of 9.
        var g = Graph(name: "t", inputs: ["x"], outputs: ["a", "b"])
        g.shapes["x"] = [1, 1, 2, 2]
        try g.append(Node(name: "a", op: .averagePool(Pool2D(kernelShape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], countIncludePad: false)), inputs: ["x"], output: "a"))
        try g.append(Node(name: "b", op: .averagePool(Pool2D(kernelShape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1], countIncludePad: true)), inputs: ["x"], output: "b"))
        let r = try FloatEngine(graph: g).run(Tensor(shape: [1, 1, 2, 2], data: [1, 1, 1, 1]))
        #expect(r[0].data == [1, 1, 1, 1])
        #expect(r[1].data.allSatisfy { abs($0 - 4.0 / 9.0) < 1e-6 })
    }

    @Test func shapeErrorsNameTheNode() {
        var g = Graph(name: "t", inputs: ["x"], outputs: ["y"])
        g.shapes["x"] = [1, 3, 8, 8]
        g.shapes["w"] = [4, 2, 3, 3]
        g.constants["w"] = Tensor(zeros: [4, 2, 3, 3])
        #expect {
            try g.append(Node(name: "badconv", op: .conv(Conv2D(kernelShape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1)),
                              inputs: ["x", "w"], output: "y"))
        } throws: { e in "\(e)".contains("badconv") && "\(e)".contains("does not fit input channels 3") }
    }
}
