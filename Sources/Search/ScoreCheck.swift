import Foundation
import Graph
import Kernels
import Quantize

/// How well the additive sensitivity score ranks whole policies. Each policy's model is simulated
/// in float with every tensor quantized at once (weights and activations fake-quantized exactly
/// as in the sensitivity table), and its mean KL(float ‖ quantized) over a few images is set
/// beside the score. The float engine does this in a fraction of the time the integer engine
/// takes; what it measures is the score's additivity, not the integer arithmetic (validation
/// measures that).
public enum ScoreCheck {
    /// `count` policies with bits drawn uniformly from the allowed ones, from a fixed seed.
    public static func randomPolicies(_ space: SearchSpace, weightBits: [Int], activationBits: [Int], count: Int, seed: UInt64) -> [Policy] {
        var rng = SplitMix(seed: seed ^ 0x5C0_12E5)
        func pick(_ b: [Int]) -> Int { b.isEmpty ? 8 : b[Int(rng.next() % UInt64(b.count))] }
        return (0..<count).map { _ in
            let w = space.weightLayers.map { _ in pick(weightBits) }
            let a = space.activationTensors.map { _ in pick(activationBits) }
            return space.policy(weights: w, activations: a)
        }
    }

    /// Mean KL over `images` for each policy, simulated in float. `only`: quantize just these
    /// table keys (`w:layer`, `a:tensor`) and keep the rest float (nil: every tensor).
    public static func jointKL(graph: Graph, stats: CalibrationStats, policies: [Policy], images: Tensor, threads: Int = 2,
                               only: Set<String>? = nil, weightVariant: ((_ layer: String, _ weights: Tensor, _ bits: Int) throws -> Tensor)? = nil,
                               progress: ((String) -> Void)? = nil) throws -> [Double] {
        let n = images.shape[0]
        let reference = try FloatEngine(graph: graph, threads: 1)
        let p = try (0..<n).map { try Sensitivity.probabilities(reference.run(images.item($0))[0]) }
        let signed = Quantizer.signedness(graph)
        let targets = Quantizer.policyTargets(graph)
        let meter = ProgressMeter("score check", total: policies.count * n, unit: "runs", report: progress)
        var out: [Double] = []
        for policy in policies {
            try Interrupt.check()
            var g = graph
            for layer in targets.weights where only?.contains(SensitivityTable.weightKey(layer)) ?? true {
                guard let node = graph.nodes.first(where: { $0.name == layer }), node.inputs.count > 1,
                      let w = graph.constants[node.inputs[1]] else { continue }
                g.constants[node.inputs[1]] = try weightVariant?(layer, w, policy.weightBits(layer)) ?? FakeQuant.weights(w, bits: policy.weightBits(layer))
            }
            var quant: [String: ActivationQuant] = [:]
            for t in targets.activations where only?.contains(SensitivityTable.activationKey(t)) ?? true {
                guard let st = stats.tensors[t] else { continue }
                quant[t] = FakeQuant.activation(st, signed: signed[t] ?? true, bits: policy.activationBits(t))
            }
            let engine = try FloatEngine(graph: g, threads: 1)
            let kls = UncheckedSendable(UnsafeMutableBufferPointer<Double>.allocate(capacity: n))
            defer { kls.value.deallocate() }
            let failure = UncheckedSendable(NSLock())
            nonisolated(unsafe) var firstError: Error? = nil
            parallelChunks(n, threads: threads) { range in
                for i in range {
                    do {
                        let y = try engine.run(image: images.item(i)) { name, data in
                            if let q = quant[name] { FakeQuant.apply(q, to: &data) }
                        }
                        kls.value[i] = Sensitivity.kl(p[i], Sensitivity.probabilities(y[0]))
                    } catch {
                        failure.value.withLock { if firstError == nil { firstError = error } }
                    }
                    meter.advance()
                }
            }
            if let firstError { throw firstError }
            out.append(kls.value.reduce(0, +) / Double(max(n, 1)))
        }
        return out
    }
}
