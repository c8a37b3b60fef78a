import Dispatch
import Graph
import Quantize

/// The part of the quantize stage that chooses weight codes before the quantizer lowers the
/// layers: nothing for `nearest`; for `hessian`, every layer's H from the calibration inputs
/// (through the float model), then GPTQ per layer. Bias correction runs afterwards in the
/// quantizer, on these final codes.
public enum WeightRoundingStep {
    public static func run(graph: Graph, policy: Policy, rounding: RoundingMethod, calibration: Tensor?, threads: Int, log: StageLog) throws -> [String: RoundedWeights] {
        log.line("weight rounding: \(rounding.rawValue)")
        guard rounding == .hessian else { return [:] }
        guard let calibration else {
            throw QuantizeError(node: "-", op: "-", "rounding 'hessian' needs calibration inputs")
        }
        let t0 = DispatchTime.now()
        let hessians = try LayerHessians.collect(graph: graph, inputs: calibration, threads: threads) { log.line($0) }
        let t1 = DispatchTime.now()
        log.line(String(format: "hessians of %d layers from %d inputs (inputs from the float model), %.2f s", hessians.layers.count, hessians.images, seconds(t0, t1)))
        let weights = try HessianRounding.round(graph: graph, policy: policy, hessians: hessians, threads: threads) { log.line($0) }
        log.line(String(format: "hessian rounding of %d layers, %.2f s (dampening %.0f%% of the mean diagonal)", weights.count, seconds(t1, DispatchTime.now()),
                        HessianRounding.dampening * 100))
        // Output error on the calibration inputs against nearest, per layer (small layers only:
        // the check costs rows·d² per layer).
        var ratios: [Double] = []
        for (name, q) in weights.sorted(by: { $0.key < $1.key }) {
            guard let h = hessians.layers[name], let node = graph.nodes.first(where: { $0.name == name }), let w = graph.constants[node.inputs[1]],
                  Double(w.shape[0]) * Double(h.d) * Double(h.d) <= 2e7 else { continue }
            let (codes, scales) = FakeQuant.quantizeRows(w.data, rows: w.shape[0], bits: q.bits)
            let en = HessianRounding.outputError(w, RoundedWeights(codes: codes, scales: scales, bits: q.bits), hessian: h)
            if en > 0 { ratios.append(HessianRounding.outputError(w, q, hessian: h) / en) }
        }
        if !ratios.isEmpty {
            let s = ratios.sorted()
            log.line(String(format: "layer output error on calibration inputs, hessian / nearest over %d layers: median %.3f, best %.3f, worst %.3f",
                            s.count, s[s.count / 2], s[0], s[s.count - 1]))
        }
        return weights
    }

    /// The sensitivity table's weight variants for `rounding`: nil (nearest, the table's own),
    /// or each layer's weights rounded by `HessianRounding` at the variant's bits (one factor of
    /// H⁻¹ per layer serves every bit-width).
    public static func sensitivityVariant(hessians: LayerHessians?, threads: Int) -> ((String, Tensor, Int) throws -> Tensor)? {
        guard let hessians else { return nil }
        final class Factors: @unchecked Sendable { var byLayer: [String: HessianRounding.Factor] = [:] }
        let factors = Factors()
        return { layer, w, bits in
            guard let h = hessians.layers[layer] else { return FakeQuant.weights(w, bits: bits) }
            let f = factors.byLayer[layer] ?? HessianRounding.factor(h, threads: threads)
            factors.byLayer[layer] = f
            return Tensor(shape: w.shape, data: HessianRounding.layer(w, factor: f, bits: bits, threads: threads).values)
        }
    }

    /// The Hessians the search needs when it measures with `hessian` rounding (nil otherwise).
    public static func searchHessians(graph: Graph, rounding: RoundingMethod, images: Tensor, threads: Int, log: StageLog) throws -> LayerHessians? {
        guard rounding == .hessian else { return nil }
        let t0 = DispatchTime.now()
        let hessians = try LayerHessians.collect(graph: graph, inputs: images, threads: threads)
        log.line(String(format: "search with hessian rounding: hessians of %d layers from %d inputs, %.2f s", hessians.layers.count, images.shape[0],
                        seconds(t0, DispatchTime.now())))
        return hessians
    }

    static func seconds(_ a: DispatchTime, _ b: DispatchTime) -> Double { Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e9 }
}
