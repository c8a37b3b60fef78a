import Foundation
import Graph
import Import
import Kernels
import Quantize
import TestSupport
import Testing

/// Hessian-aware (GPTQ/OBQ) weight rounding: its linear algebra, its effect on every layer's
/// output error, determinism, and the quantizer's hook for given codes.
@Suite struct RoundingTests {
    /// A random symmetric positive definite matrix XᵀX + I.
    static func spd(_ d: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        let x = (0..<(2 * d * d)).map { _ in Double.random(in: -1...1, using: &rng) }
        var h = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for j in 0..<d { for p in 0..<(2 * d) { h[i * d + j] += x[p * d + i] * x[p * d + j] } } }
        for i in 0..<d { h[i * d + i] += 1 }
        return h
    }

    @Test(arguments: [1, 3, 9, 40])
    func inverseCholeskyFactorTimesHIsTheIdentity(d: Int) throws {
        let h = Self.spd(d, seed: UInt64(d))
        var work = h, u = [Double](repeating: 0, count: d * d)
        let ok = work.withUnsafeMutableBufferPointer { w in u.withUnsafeMutableBufferPointer { inverseCholeskyUpper(w.baseAddress!, d: d, into: $0.baseAddress!) } }
        #expect(ok)
        // U upper with a positive diagonal, and (UᵀU)·H = I.
        for i in 0..<d {
            #expect(u[i * d + i] > 0)
            for j in 0..<i { #expect(u[i * d + j] == 0) }
        }
        var worst = 0.0
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for k in 0..<d {
                    var hinv = 0.0
                    for m in 0..<d { hinv += u[m * d + i] * u[m * d + k] }
                    s += hinv * h[k * d + j]
                }
                worst = max(worst, abs(s - (i == j ? 1 : 0)))
            }
        }
        #expect(worst < 1e-9, "max |(UᵀU)H − I| = \(worst)")
    }

    @Test func notPositiveDefiniteIsRefused() {
        var h: [Double] = [1, 2, 2, 1], u = [Double](repeating: 0, count: 4)
        let ok = h.withUnsafeMutableBufferPointer { w in u.withUnsafeMutableBufferPointer { inverseCholeskyUpper(w.baseAddress!, d: 2, into: $0.baseAddress!) } }
        #expect(!ok)
    }

    @Test func gramMatrixMatchesThePlainSum() {
        let d = 13, n = 531
        var rng = SeededRandom(seed: 7)
        let cols = (0..<(d * n)).map { _ in Float.random(in: -2...2, using: &rng) }
        var h = [Double](repeating: 0, count: d * d)
        cols.withUnsafeBufferPointer { c in h.withUnsafeMutableBufferPointer { accumulateGram(c.baseAddress!, d: d, n: n, ld: n, into: $0.baseAddress!, threads: 2) } }
        h.withUnsafeMutableBufferPointer { symmetrize($0.baseAddress!, d: d) }
        for i in 0..<d {
            for j in 0..<d {
                var s = 0.0
                for p in 0..<n { s += Double(cols[i * n + p]) * Double(cols[j * n + p]) }
                #expect(abs(h[i * d + j] - s) <= 1e-4 * max(1, abs(s)), "H[\(i)][\(j)] \(h[i * d + j]) vs \(s)")
            }
        }
    }

    struct Fixture {
        var graph: Graph
        var calibration: Tensor
        var hessians: LayerHessians
    }

    static func fixture(_ name: String) throws -> Fixture {
        let g = try OnnxImporter.load(Fixtures.url(name + ".onnx"))
        let cal = try #require(NumPy.load(Fixtures.url("digits32.npz"))["x"]).tensor
        return Fixture(graph: g, calibration: cal, hessians: try LayerHessians.collect(graph: g, inputs: cal))
    }

    /// Σ_p ‖(Ŵ − W)·x_p‖² over the layer's calibration rows, computed here from the Gram matrix
    /// (Σ_p x_p x_pᵀ) without the rounding code's help.
    static func outputError(_ w: Tensor, _ values: [Float], _ lh: LayerHessian) -> Double {
        let rows = w.shape[0], d = lh.d, rowsG = rows / lh.groups
        var total = 0.0
        for r in 0..<rows {
            let g = r / rowsG
            let delta = (0..<d).map { Double(values[r * d + $0]) - Double(w.data[r * d + $0]) }
            for i in 0..<d { for j in 0..<d { total += delta[i] * lh.h[g * d * d + i * d + j] * delta[j] } }
        }
        return total
    }

    /// Every weighted layer's output error on its calibration inputs is lower with the Hessian
    /// rounding than with round-to-nearest (both on the same MSE-clipped per-channel grid).
    @Test(arguments: ["mobilenet_v1_025_32", "mobilenet_v2_035_32", "mnasnet_035_32"], [4, 2])
    func hessianRoundingLowersEveryLayersOutputError(model name: String, bits: Int) throws {
        let f = try Self.fixture(name)
        var ratios: [Double] = []
        for spec in f.graph.integerLayers() {
            guard case .weighted = spec.kind else { continue }
            let n = f.graph.nodes[spec.node]
            let w = try #require(f.graph.constants[n.inputs[1]])
            let lh = try #require(f.hessians.layers[n.name], "no Hessian for \(n.name)")
            let q = HessianRounding.layer(w, hessian: lh, bits: bits)
            let nearest = FakeQuant.weights(w, bits: bits)
            #expect(q.codes.allSatisfy { abs($0) <= (1 << (bits - 1)) - 1 }, "\(n.name): a code leaves the signed \(bits)-bit range")
            let eq = HessianRounding.outputError(w, q, hessian: lh)
            let en = HessianRounding.outputError(w, nearestWeights(w, bits), hessian: lh)
            if lh.d <= 64 {  // the library's error measure against the plain sum here
                #expect(abs(eq - Self.outputError(w, q.values, lh)) <= 1e-9 * max(eq, 1))
                #expect(abs(en - Self.outputError(w, nearest.data, lh)) <= 1e-6 * max(en, 1))
            }
            // With one live input per group (a depthwise 3×3 on a 1×1 image sees only its
            // centre tap) no other column can take the error: nearest is already optimal.
            let live = (0..<lh.groups).map { g in (0..<lh.d).filter { lh.h[g * lh.d * lh.d + $0 * lh.d + $0] > 0 }.count }
            if live.contains(where: { $0 >= 2 }) {
                #expect(eq < en, "\(name) \(n.name) at \(bits) bits: hessian \(eq) ≥ nearest \(en)")
            } else {
                #expect(eq <= en * (1 + 1e-12), "\(name) \(n.name) at \(bits) bits: hessian \(eq) > nearest \(en)")
            }
            ratios.append(eq / max(en, 1e-30))
        }
        #expect(ratios.count > 10)
        let sorted = ratios.sorted()
        print("\(name) W\(bits): hessian / nearest output error over \(ratios.count) layers: median \(sorted[sorted.count / 2]), worst \(sorted.last!)")
    }

    @Test func sameInputsGiveTheSameCodesAtAnyThreadCount() throws {
        let f = try Self.fixture("mobilenet_v2_035_32")
        let again = try LayerHessians.collect(graph: f.graph, inputs: f.calibration, threads: 1)
        let policy = Policy.uniform(4)
        let a = try HessianRounding.round(graph: f.graph, policy: policy, hessians: f.hessians, threads: 2)
        let b = try HessianRounding.round(graph: f.graph, policy: policy, hessians: again, threads: 1)
        #expect(a.count > 10)
        #expect(a == b)
    }

    @Test func quantizerUsesGivenCodesAndChecksThem() throws {
        let f = try Self.fixture("mobilenet_v1_025_32")
        let stats = try Calibrator.collect(graph: f.graph, inputs: f.calibration, synthetic: false)
        let policy = Policy.uniform(4)
        let rounded = try HessianRounding.round(graph: f.graph, policy: policy, hessians: f.hessians)
        let plain = try Quantizer.quantize(graph: f.graph, policy: policy, stats: stats)
        let model = try Quantizer.quantize(graph: f.graph, policy: policy, stats: stats, options: .init(weights: rounded))
        #expect(plain.parameterBytes == model.parameterBytes)
        #expect(try jsonData(plain) != jsonData(model))
        // Codes outside the signed range, or for the wrong bits, are refused, naming the layer.
        var bad = rounded
        let layer = try #require(rounded.keys.sorted().first)
        bad[layer]?.codes[0] = 8
        #expect(throws: QuantizeError.self) { try Quantizer.quantize(graph: f.graph, policy: policy, stats: stats, options: .init(weights: bad)) }
        #expect(throws: QuantizeError.self) { try Quantizer.quantize(graph: f.graph, policy: .uniform(8), stats: stats, options: .init(weights: rounded)) }
    }

    /// W4A8 on held-out digits: the Hessian rounding agrees with float at least as well as
    /// nearest (both with bias correction on the final codes).
    @Test(arguments: ["mobilenet_v2_035_32"])
    func hessianRoundingAgreesWithFloatAtLeastAsWellOnHeldOutData(model name: String) throws {
        let f = try Self.fixture(name)
        let stats = try Calibrator.collect(graph: f.graph, inputs: f.calibration, synthetic: false)
        let val = try NumPy.load(Fixtures.url("digits32.val.npz"))
        let x = try #require(val["x"]).tensor
        let policy = Policy(defaultWeightBits: 4, defaultActivationBits: 8)
        let rounded = try HessianRounding.round(graph: f.graph, policy: policy, hessians: f.hessians)
        let rn = try Validator.evaluate(graph: f.graph, model: try Quantizer.quantize(graph: f.graph, policy: policy, stats: stats), x: x, labels: nil)
        let rh = try Validator.evaluate(graph: f.graph, model: try Quantizer.quantize(graph: f.graph, policy: policy, stats: stats, options: .init(weights: rounded)),
                                        x: x, labels: nil)
        print("\(name) W4A8 held-out: nearest agree \(rn.top1Agreement)% KL \(rn.meanKL); hessian agree \(rh.top1Agreement)% KL \(rh.meanKL)")
        #expect(rh.meanKL < rn.meanKL)
    }

    func nearestWeights(_ w: Tensor, _ bits: Int) -> RoundedWeights {
        let (codes, scales) = FakeQuant.quantizeRows(w.data, rows: w.shape[0], bits: bits)
        return RoundedWeights(codes: codes, scales: scales, bits: bits)
    }

    func jsonData(_ m: QuantizedModel) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return try e.encode(m)
    }
}
