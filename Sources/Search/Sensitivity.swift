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
/// tensor (the float prefix is reused). Variants run in parallel across cores, interleaved so
/// each core gets as many early (long) suffixes as late (short) ones. With an `ImageRule` the
/// images are taken in order until the table's ranking stops changing (see `ImageRule`).
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
    /// When enough images have been measured: after `minimum` images and then every `step`
    /// more, the table so far is compared with the table `step` images earlier; for every
    /// bit-width the Spearman rank correlation of the tensors' mean KL must reach `agreement`,
    /// else the next `step` images are measured (up to all given). Deterministic: the images
    /// are taken in their order.
    public struct ImageRule: Sendable, Equatable {
        public var minimum: Int
        public var step: Int
        public var agreement: Double
        public init(minimum: Int, step: Int, agreement: Double) {
            self.minimum = max(1, minimum)
            self.step = max(1, step)
            self.agreement = agreement
        }
        /// 16 images, then steps of 8 until every bit-width's ranking agrees to 0.95.
        public static let standard = ImageRule(minimum: 16, step: 8, agreement: 0.95)
    }

    /// `weightVariant` gives a layer's weights quantized (and dequantized) at b bits the way the
    /// quantizer will round them; nil = round-to-nearest.
    public static func measure(graph: Graph, stats: CalibrationStats, images: Tensor, bits: [Int], threads: Int = 2,
                               weightVariant: ((_ layer: String, _ weights: Tensor, _ bits: Int) throws -> Tensor)? = nil,
                               rule: ImageRule? = nil, progress: ((String) -> Void)? = nil) throws -> SensitivityTable {
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
        let meter = ProgressMeter("sensitivity", total: n, unit: "images", report: progress)
        let parts = max(1, min(threads, variants.count))
        var previous: [Double]? = nil
        var used = n
        for i in 0..<n {
            try Interrupt.check()
            let trace = try engine.trace(images.item(i))
            let p = probabilities(trace.outputs[0])
            let results = UncheckedSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: variants.count))
            defer { results.value.deallocate() }
            let failure = UncheckedSendable(NSLock())
            nonisolated(unsafe) var firstError: Error? = nil
            // Part `t` runs variants t, t + parts, t + 2·parts, …
            parallelChunks(parts, threads: parts) { range in
                for part in range {
                    var v = part
                    while v < variants.count {
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
                        v += parts
                    }
                }
            }
            if let firstError { throw firstError }
            for v in 0..<variants.count { sums[v] += results.value[v] }
            meter.advance()
            // The image rule: compare with the table `step` images ago.
            if let rule, (i + 1) % rule.step == 0 || i + 1 == rule.minimum {
                let means = sums.map { $0 / Double(i + 1) }
                if i + 1 >= rule.minimum, i + 1 < n, let prev = previous {
                    let agreement = bits.map { b -> Double in
                        let idx = variants.indices.filter { variants[$0].bits == b }
                        return spearman(idx.map { means[$0] }, idx.map { prev[$0] }) ?? 1
                    }.min() ?? 1
                    if agreement >= rule.agreement {
                        progress?(String(format: "sensitivity: stopping after %d of %d images: rank agreement with the table at %d images is %.3f (rule: ≥ %.2f)",
                                         i + 1, n, i + 1 - rule.step, agreement, rule.agreement))
                        used = i + 1
                        break
                    }
                }
                if (i + 1) % rule.step == 0 { previous = means }
            }
        }
        var table: [String: [String: Double]] = [:]
        for (v, va) in variants.enumerated() { table[va.key, default: [:]][String(va.bits)] = sums[v] / Double(max(used, 1)) }
        return SensitivityTable(bits: bits, images: used, kl: table)
    }

    /// Spearman rank correlation (ties share their mean rank); nil for fewer than 3 values or a
    /// constant side.
    public static func spearman(_ a: [Double], _ b: [Double]) -> Double? {
        guard a.count >= 3, a.count == b.count else { return nil }
        func ranks(_ v: [Double]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                for k in i...j { r[order[k]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
        }
        let ra = ranks(a), rb = ranks(b)
        let ma = ra.reduce(0, +) / Double(ra.count), mb = rb.reduce(0, +) / Double(rb.count)
        var num = 0.0, da = 0.0, db = 0.0
        for i in ra.indices {
            num += (ra[i] - ma) * (rb[i] - mb)
            da += (ra[i] - ma) * (ra[i] - ma)
            db += (rb[i] - mb) * (rb[i] - mb)
        }
        return da > 0 && db > 0 ? num / (da * db).squareRoot() : nil
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
