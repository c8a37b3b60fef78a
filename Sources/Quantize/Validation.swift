import Foundation
import Graph
import Kernels

/// How close the integer model is to the float model on a data set.
public struct ValidationResult: Codable, Sendable {
    public struct LayerSQNR: Codable, Sendable {
        public var tensor: String
        public var layer: String
        public var op: String
        public var bits: Int
        /// 10·log10(Σ x² / Σ (x − x̂)²) of the dequantized integer activation against float.
        public var sqnrDB: Double
    }

    public var images: Int
    public var accuracyFloat: Double?
    public var accuracyQuantized: Double?
    public var top1Agreement: Double
    public var top5Agreement: Double?
    public var meanKL: Double
    public var layers: [LayerSQNR]
}

public enum Validator {
    /// Runs both models on `x` (a batch); `labels` enable accuracy. Percentages are 0–100.
    public static func evaluate(graph: Graph, model: QuantizedModel, x: Tensor, labels: [Int64]?, threads: Int = 2,
                                progress: ProgressMeter? = nil) throws -> ValidationResult {
        let fe = try FloatEngine(graph: graph, threads: threads)
        let ie = try IntegerEngine(model: model, threads: threads)
        let n = x.shape[0]
        var agree1 = 0, agree5 = 0, correctF = 0, correctQ = 0
        var kl = 0.0
        var signal: [String: Double] = [:], noise: [String: Double] = [:]
        let wanted = Set(model.layers.map(\.output))
        var hasTop5 = false
        for b in 0..<n {
            try Interrupt.check()
            let img = x.item(b)
            var floatActs: [String: Tensor] = [:]
            let yf = try fe.run(img) { name, t in if wanted.contains(name) { floatActs[name] = t } }[0]
            let yq = try ie.run(img) { name, t in
                guard let f = floatActs[name], f.count == t.count else { return }
                var s = 0.0, e = 0.0
                for i in 0..<f.count {
                    s += Double(f.data[i]) * Double(f.data[i])
                    let d = Double(f.data[i] - t.data[i])
                    e += d * d
                }
                signal[name, default: 0] += s
                noise[name, default: 0] += e
            }[0]
            let pf = probabilities(yf, softmaxApplied: model.outputSoftmaxAxis != nil)
            let pq = probabilities(yq, softmaxApplied: model.outputSoftmaxAxis != nil)
            let tf = argmax(pf), tq = argmax(pq)
            if tf == tq { agree1 += 1 }
            if pf.count >= 5 {
                hasTop5 = true
                if topK(pq, 5).contains(tf) { agree5 += 1 }
            }
            for i in pf.indices where pf[i] > 0 { kl += Double(pf[i]) * (log(Double(pf[i])) - log(max(Double(pq[i]), 1e-12))) }
            if let labels, b < labels.count {
                if Int64(tf) == labels[b] { correctF += 1 }
                if Int64(tq) == labels[b] { correctQ += 1 }
            }
            progress?.advance()
        }
        let layers = model.layers.compactMap { l -> ValidationResult.LayerSQNR? in
            guard let s = signal[l.output], let e = noise[l.output], let t = model.tensors[l.output] else { return nil }
            let db = e > 0 ? 10 * log10(max(s, 1e-30) / e) : 200
            return .init(tensor: l.output, layer: l.name, op: l.op.name, bits: t.quant.bits, sqnrDB: db)
        }
        let pct = { (k: Int) in 100 * Double(k) / Double(max(n, 1)) }
        return ValidationResult(images: n, accuracyFloat: labels.map { _ in pct(correctF) }, accuracyQuantized: labels.map { _ in pct(correctQ) },
                                top1Agreement: pct(agree1), top5Agreement: hasTop5 ? pct(agree5) : nil, meanKL: kl / Double(max(n, 1)),
                                layers: layers)
    }

    /// Output probabilities: softmax of logits, or the outputs themselves when the model ends
    /// in Softmax.
    static func probabilities(_ y: Tensor, softmaxApplied: Bool) -> [Float] {
        softmaxApplied ? y.data : softmax(Tensor(shape: [1, y.count], data: y.data), axis: 1).data
    }

    static func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? 0 }

    static func topK(_ v: [Float], _ k: Int) -> [Int] { Array(v.indices.sorted { v[$0] > v[$1] }.prefix(k)) }
}
