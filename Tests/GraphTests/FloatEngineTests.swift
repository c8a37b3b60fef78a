import Graph
import Kernels
import TestSupport
import Testing

/// The blocked GEMM against a plain triple loop, and the engine's planned buffers and hooks.
@Suite struct FloatEngineTests {
    func random(_ n: Int, _ rng: inout SeededRandom) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }

    /// Shapes cover one row, remainders of the 6-row tile, partial panels and K cut into slices.
    @Test(arguments: [(1, 7, 5), (1, 1280, 1000), (5, 3, 17), (13, 333, 40), (49, 700, 33), (100, 64, 96), (97, 961, 70)])
    func gemmMatchesDefinition(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        var rng = SeededRandom(seed: UInt64(m * 131 + k * 7 + n))
        let a = random(m * k, &rng), b = random(k * n, &rng), bias = random(n, &rng)
        var ref = [Float](repeating: 0, count: m * n)
        for r in 0..<m {
            for j in 0..<n {
                var s = Double(bias[j])
                for kk in 0..<k { s += Double(a[r * k + kk]) * Double(b[kk * n + j]) }
                ref[r * n + j] = Float(min(max(s, -0.5), 2))
            }
        }
        let panels = PackedPanels(k: k, n: n, rowMajor: b)
        var outs: [[Float]] = []
        for threads in [1, 2] {
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { ap in
                bias.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        gemm(a: ap.baseAddress!, lda: k, rows: m, b: panels, bias: bp.baseAddress!, c: cp.baseAddress!, ldc: n,
                             lo: -0.5, hi: 2, threads: threads)
                    }
                }
            }
            #expect(relativeMaxError(c, ref) < 1e-5, "\(m)x\(k)x\(n), \(threads) threads")
            outs.append(c)
        }
        // Every element is summed in the same order whatever the split: bit-identical.
        #expect(outs[0] == outs[1])
    }

    /// A small residual network: conv → relu6 → depthwise → pointwise, added back to the input.
    func residualGraph(_ rng: inout SeededRandom) throws -> Graph {
        var g = Graph(name: "res", inputs: ["x"], outputs: ["y"])
        g.shapes["x"] = [1, 8, 9, 9]
        func const(_ name: String, _ shape: [Int]) {
            g.constants[name] = Tensor(shape: shape, data: random(shape.reduce(1, *), &rng))
            g.shapes[name] = shape
        }
        const("w1", [16, 8, 1, 1]); const("b1", [16])
        const("w2", [16, 1, 3, 3]); const("b2", [16])
        const("w3", [8, 16, 1, 1]); const("b3", [8])
        let pw = Conv2D(kernelShape: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1)
        let dw = Conv2D(kernelShape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 16)
        try g.append(Node(name: "c1", op: .conv(pw), inputs: ["x", "w1", "b1"], output: "t1"))
        try g.append(Node(name: "r1", op: .clip(min: 0, max: 6), inputs: ["t1"], output: "t2"))
        try g.append(Node(name: "c2", op: .conv(dw), inputs: ["t2", "w2", "b2"], output: "t3"))
        try g.append(Node(name: "r2", op: .relu, inputs: ["t3"], output: "t4"))
        try g.append(Node(name: "c3", op: .conv(pw), inputs: ["t4", "w3", "b3"], output: "t5"))
        try g.append(Node(name: "add", op: .add, inputs: ["t5", "x"], output: "y"))
        return g
    }

    @Test func reusedBuffersGiveTheSameResultsEveryRun() throws {
        var rng = SeededRandom(seed: 3)
        let g = try residualGraph(&rng)
        let engine = try FloatEngine(graph: g, threads: 2)
        let x1 = Tensor(shape: [1, 8, 9, 9], data: random(648, &rng)), x2 = Tensor(shape: [1, 8, 9, 9], data: random(648, &rng))
        let first = try engine.run(x1)[0]
        // Tensors an observer keeps must not be overwritten by later runs.
        var kept: [String: Tensor] = [:]
        let second = try engine.run(x2) { name, t in kept[name] = t }[0]
        let keptCopy = kept
        _ = try engine.run(x1)
        _ = try engine.run(x2)
        #expect(try engine.run(x1)[0].data == first.data)
        #expect(try engine.run(x2)[0].data == second.data)
        for (name, t) in kept { #expect(t.data == keptCopy[name]?.data, "\(name)") }
        // A fresh engine (nothing reused yet) agrees bit for bit.
        #expect(try FloatEngine(graph: g, threads: 1).run(x2)[0].data == second.data)
    }

    @Test func adjustRewritesStepOutputs() throws {
        var rng = SeededRandom(seed: 4)
        let g = try residualGraph(&rng)
        let engine = try FloatEngine(graph: g)
        let x = Tensor(shape: [1, 8, 9, 9], data: random(648, &rng))
        let plain = try engine.run(x)[0]
        var seen: [String] = []
        let same = try engine.run(image: x) { name, _ in seen.append(name) }[0]
        #expect(same.data == plain.data)
        #expect(seen.contains("t2") && seen.contains("y"))
        // Zeroing the last convolution's output leaves the residual input alone.
        let skipped = try engine.run(image: x) { name, data in if name == "t5" { for i in data.indices { data[i] = 0 } } }[0]
        #expect(skipped.data == x.data)
    }

    @Test func progressReportsTimeLeft() {
        var lines: [String] = []
        let meter = ProgressMeter("sensitivity", total: 4, unit: "images", interval: 0) { lines.append($0) }
        for _ in 0..<4 { meter.advance() }
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("sensitivity: 1/4 images, ") && lines[0].contains("left"))
        #expect(lines[3].hasPrefix("sensitivity: 4/4 images, ") && !lines[3].contains("left"))
        #expect(ProgressMeter.duration(3.25) == "3.2 s" && ProgressMeter.duration(75) == "75 s" && ProgressMeter.duration(185) == "3 min 5 s")
    }
}
