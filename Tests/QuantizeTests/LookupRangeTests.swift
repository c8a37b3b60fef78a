import Graph
import Quantize
import Testing

/// A lookup's output grid (Sigmoid here) must cover every value its table can produce, not only
/// the values the calibration images reached. Found on MediaPipe's hand_landmark_lite: the
/// hand-presence sigmoid stayed below 0.01 on hand-free calibration crops, so its grid ended at
/// 0.0098 and a validation crop scoring 0.90 came out as 0.0098 (0.1 dB SQNR).
@Suite struct LookupRangeTests {
    /// x ∈ [0, 1]² → FullyConnected → logit = −7 + 9·x0 − 9·x1 → Sigmoid.
    func presenceHead() throws -> Graph {
        var g = Graph(name: "presence", inputs: ["x"], outputs: ["score"], shapes: ["x": [1, 2]])
        g.constants["w"] = Tensor(shape: [1, 2], data: [9, -9])
        g.constants["b"] = Tensor(shape: [1], data: [-7])
        g.shapes["w"] = [1, 2]
        g.shapes["b"] = [1]
        try g.append(Node(name: "fc", op: .fullyConnected, inputs: ["x", "w", "b"], output: "logit"))
        try g.append(Node(name: "score", op: .sigmoid, inputs: ["logit"], output: "score"))
        return g
    }

    @Test
    func sigmoidOutputIsNotClippedToTheCalibratedRange() throws {
        let g = try presenceHead()
        // Calibration: x0 ≤ 0.26, x1 over [0, 1]: logits in [−16, −4.66], scores ≤ 0.0094.
        let n = 64
        var cal = [Float]()
        for i in 0..<n { cal += [0.26 * Float(i % 8) / 7, Float(i) / Float(n - 1)] }
        let stats = try Calibrator.collect(graph: g, inputs: Tensor(shape: [n, 2], data: cal), synthetic: false)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)
        // Inside both input grids; the logit grid (±16) holds +2 as well.
        let x = Tensor(shape: [3, 2], data: [1, 0, 0.9, 0.1, 0.1, 0.9])
        let want = try FloatEngine(graph: g).run(x)[0]
        let got = try IntegerEngine(model: model).run(x)[0]
        #expect(want.data[0] > 0.85)
        for i in 0..<3 {
            // Logit grid step 16/127 → at most ~0.02 of score error near 0.88; output step 1/255.
            #expect(abs(got.data[i] - want.data[i]) < 0.03, "row \(i): integer \(got.data[i]), float \(want.data[i])")
        }
    }
}
