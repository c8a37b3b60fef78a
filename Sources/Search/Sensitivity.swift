import Dispatch
import Foundation
import Graph
import Kernels
import Quantize

/// How much the model's output moves when one tensor alone is quantized: for every weight
/// tensor (key "w:<layer>") and activation tensor ("a:<tensor>") and every bit-width, the mean
/// KL(float ‖ perturbed) of the output distributions over the calibration images.
///
/// One float run per image is traced; each variant re-runs only the steps after the perturbed
/// tensor. Variants run in parallel across cores.
public struct SensitivityTable: Codable, Sendable, Equatable {
    public var bits: [Int]
    public var images: Int
    /// key → bits (as a string, for JSON) → mean KL
    public var kl: [String: [String: Double]]

    public init(bits: [Int], images: Int, kl: [String: [String: Double]]) {
        self.bits = bits
        self.images = images
        self.kl = kl
    }

    public func value(_ key: String, _ b: Int) -> Double { kl[key]?[String(b)] ?? 0 }

    public static func weightKey(_ layer: String) -> String { "w:" + layer }
    public static func activationKey(_ tensor: String) -> String { "a:" + tensor }
}

public enum Sensitivity {
    /// `weightVariant` gives a layer's weights quantized (and dequantized) at b bits the way the
    /// quantizer will round them; nil = round-to-nearest.
    public static func measure(graph: Graph, stats: CalibrationStats, images: Tensor, bits: [Int], threads: Int = 2,
                               weightVariant: ((_ layer: String, _ weights: Tensor, _ bits: Int) throws -> Tensor)? = nil,
                               progress: ((String) -> Void)? = nil) throws -> SensitivityTable {
        let engine = try FloatEngine(graph: graph, threads: 1)
        let signed = Quantizer.signedness(graph)
        let targets = Quantizer.policyTargets(graph)

        // The variants: (key, bits, where to resume, perturbation or weight override).
        struct Variant {
            var key: String
            var bits: Int
            var from: Int
            var tensor: String?
            var quant: ActivationQuant?
            var override: StepOverride?
        }
        var variants: [Variant] = []
        for layer in targets.weights {
            guard let step = engine.stepIndex(node: layer), let node = graph.nodes.first(where: { $0.name == layer }),
                  let w = graph.constants[node.inputs[1]] else { continue }
            for b in bits {
                let o = try engine.override(step: step, constant: node.inputs[1], value: try weightVariant?(layer, w, b) ?? FakeQuant.weights(w, bits: b))
                variants.append(Variant(key: SensitivityTable.weightKey(layer), bits: b, from: step, override: o))
            }
        }
        for t in targets.activations {
            guard let step = engine.stepIndex(producing: t), let st = stats.tensors[t] else { continue }
            for b in bits {
                let q = FakeQuant.activation(st, signed: signed[t] ?? true, bits: b)
                variants.append(Variant(key: SensitivityTable.activationKey(t), bits: b, from: step + 1, tensor: t, quant: q))
            }
        }
        progress?("\(variants.count) variants (\(targets.weights.count) weight and \(targets.activations.count) activation tensors × \(bits.count) bit-widths) on \(images.shape[0]) images")

        let n = images.shape[0]
        var sums = [Double](repeating: 0, count: variants.count)
        for i in 0..<n {
            try Interrupt.check()
            let trace = try engine.trace(images.item(i))
            let p = probabilities(trace.outputs[0])
            let results = UncheckedSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: variants.count))
            defer { results.value.deallocate() }
            let failure = UncheckedSendable(NSLock())
            nonisolated(unsafe) var firstError: Error? = nil
            parallelChunks(variants.count, threads: threads) { range in
                for v in range {
                    let va = variants[v]
                    do {
                        let y: [Tensor]
                        if let t = va.tensor, let q = va.quant {
                            y = try engine.resume(trace, from: va.from, perturb: (t, { FakeQuant.apply(q, to: &$0) }))
                        } else {
                            y = try engine.resume(trace, from: va.from, override: va.override)
                        }
                        results.value[v] = kl(p, probabilities(y[0]))
                    } catch {
                        failure.value.withLock { if firstError == nil { firstError = error } }
                    }
                }
            }
            if let firstError { throw firstError }
            for v in 0..<variants.count { sums[v] += results.value[v] }
            if i == 0 || (i + 1) % 8 == 0 || i == n - 1 { progress?("sensitivity: image \(i + 1)/\(n)") }
        }
        var table: [String: [String: Double]] = [:]
        for (v, va) in variants.enumerated() { table[va.key, default: [:]][String(va.bits)] = sums[v] / Double(max(n, 1)) }
        return SensitivityTable(bits: bits, images: n, kl: table)
    }

    /// Softmax of logits (or the outputs, if they already are a distribution).
    static func probabilities(_ y: Tensor) -> [Double] {
        let v = y.data.map(Double.init)
        if v.allSatisfy({ $0 >= 0 }), abs(v.reduce(0, +) - 1) < 1e-3 { return v }
        let m = v.max() ?? 0
        let e = v.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    static func kl(_ p: [Double], _ q: [Double]) -> Double {
        var s = 0.0
        for i in p.indices where p[i] > 0 { s += p[i] * (log(p[i]) - log(max(q[i], 1e-12))) }
        return max(s, 0)
    }
}
