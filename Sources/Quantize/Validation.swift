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

    /// How the integer model's output `name` compares with the float model's.
    public struct OutputResult: Codable, Sendable {
        public enum Kind: String, Codable, Sendable {
            /// One class distribution (probabilities, or logits of one) per input.
            case classes
            /// Anything else (boxes, scores per anchor, landmarks, maps).
            case values
        }
        public var name: String
        public var shape: [Int]
        public var kind: Kind
        /// Classes only: argmax agreement, float top-1 within quantized top-5 (≥ 5 classes),
        /// mean KL(float ‖ quantized) of the (softmaxed) distributions.
        public var top1Agreement: Double?
        public var top5Agreement: Double?
        public var meanKL: Double?
        /// 10·log10(Σ y² / Σ (y − ŷ)²) over all inputs, and max |y − ŷ|.
        public var sqnrDB: Double
        public var maxAbsError: Double
    }

    public var images: Int
    public var accuracyFloat: Double?
    public var accuracyQuantized: Double?
    public var top1Agreement: Double
    public var top5Agreement: Double?
    public var meanKL: Double
    public var layers: [LayerSQNR]
    /// Every output, named; the top-level figures above are the first output's.
    public var outputs: [OutputResult]?
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
        let outCount = min(graph.outputs.count, model.outputs.count)
        var perOut = [OutputAccumulator](repeating: OutputAccumulator(), count: outCount)
        for b in 0..<n {
            try Interrupt.check()
            let img = x.item(b)
            var floatActs: [String: Tensor] = [:]
            let yfs = try fe.run(img) { name, t in if wanted.contains(name) { floatActs[name] = t } }
            let yqs = try ie.run(img) { name, t in
                guard let f = floatActs[name], f.count == t.count else { return }
                var s = 0.0, e = 0.0
                for i in 0..<f.count {
                    s += Double(f.data[i]) * Double(f.data[i])
                    let d = Double(f.data[i] - t.data[i])
                    e += d * d
                }
                signal[name, default: 0] += s
                noise[name, default: 0] += e
            }
            for o in 0..<outCount {
                let soft = softmaxApplied(graph, output: o, model: model)
                perOut[o].add(yfs[o], yqs[o], softmaxApplied: soft, classes: isClassOutput(graph, output: o, softmaxApplied: soft))
            }
            let yf = yfs[0], yq = yqs[0]
            let pf = probabilities(yf, softmaxApplied: model.outputSoftmaxIndex == 0)
            let pq = probabilities(yq, softmaxApplied: model.outputSoftmaxIndex == 0)
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
        let outputs = (0..<outCount).map { o in
            perOut[o].result(name: graph.outputs[o], shape: graph.externalShape(graph.outputs[o]), images: n)
        }
        return ValidationResult(images: n, accuracyFloat: labels.map { _ in pct(correctF) }, accuracyQuantized: labels.map { _ in pct(correctQ) },
                                top1Agreement: pct(agree1), top5Agreement: hasTop5 ? pct(agree5) : nil, meanKL: kl / Double(max(n, 1)),
                                layers: layers, outputs: outputs)
    }

    /// An output is judged as a class distribution when it has one vector of K ≥ 2 values per
    /// input ([1, K], [1, K, 1, 1]) and it is the model's only output, or ends in Softmax, or is
    /// named like one (class, logit, prob, score, label); other outputs (boxes, landmarks, maps)
    /// are judged by SQNR and max error only.
    public static func isClassOutput(_ graph: Graph, output o: Int, softmaxApplied: Bool) -> Bool {
        let shape = graph.shape(graph.outputs[o])
        guard shape.count >= 2, shape.dropFirst().filter({ $0 > 1 }).count == 1 else { return false }
        if graph.outputs.count == 1 || softmaxApplied { return true }
        let name = graph.outputs[o].lowercased()
        return ["class", "logit", "prob", "score", "label", "cls"].contains { name.contains($0) }
    }

    /// Whether output `o` already is a distribution: the graph ends it in Softmax, or the
    /// integer model applies its host-side Softmax to it.
    static func softmaxApplied(_ graph: Graph, output o: Int, model: QuantizedModel) -> Bool {
        if o == model.outputSoftmaxIndex { return true }
        guard let producer = graph.nodes.last(where: { $0.output == graph.outputs[o] }) else { return false }
        if case .softmax = producer.op { return true }
        return false
    }

    /// Sums for one output over the inputs.
    struct OutputAccumulator {
        var images = 0
        var agree1 = 0, agree5 = 0
        var hasTop5 = false
        var classes = false
        var kl = 0.0
        var signal = 0.0, noise = 0.0, maxError = 0.0

        mutating func add(_ yf: Tensor, _ yq: Tensor, softmaxApplied: Bool, classes isClasses: Bool) {
            images += 1
            let n = min(yf.count, yq.count)
            for i in 0..<n {
                let f = Double(yf.data[i]), d = f - Double(yq.data[i])
                signal += f * f
                noise += d * d
                maxError = Swift.max(maxError, abs(d))
            }
            guard isClasses, yf.count == yq.count else { return }
            classes = true
            let pf = Validator.probabilities(yf, softmaxApplied: softmaxApplied)
            let pq = Validator.probabilities(yq, softmaxApplied: softmaxApplied)
            let tf = Validator.argmax(pf)
            if tf == Validator.argmax(pq) { agree1 += 1 }
            if pf.count >= 5 {
                hasTop5 = true
                if Validator.topK(pq, 5).contains(tf) { agree5 += 1 }
            }
            for i in pf.indices where pf[i] > 0 { kl += Double(pf[i]) * (log(Double(pf[i])) - log(Swift.max(Double(pq[i]), 1e-12))) }
        }

        func result(name: String, shape: [Int], images n: Int) -> ValidationResult.OutputResult {
            let pct = { (k: Int) in 100 * Double(k) / Double(Swift.max(n, 1)) }
            let sqnr = noise > 0 ? 10 * log10(Swift.max(signal, 1e-30) / noise) : 200
            return .init(name: name, shape: shape, kind: classes ? .classes : .values, top1Agreement: classes ? pct(agree1) : nil,
                         top5Agreement: classes && hasTop5 ? pct(agree5) : nil, meanKL: classes ? kl / Double(Swift.max(n, 1)) : nil,
                         sqnrDB: sqnr, maxAbsError: maxError)
        }
    }

    /// Output probabilities: softmax of logits, or the outputs themselves when the model ends
    /// in Softmax.
    static func probabilities(_ y: Tensor, softmaxApplied: Bool) -> [Float] {
        softmaxApplied ? y.data : softmax(Tensor(shape: [1, y.count], data: y.data), axis: 1).data
    }

    static func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] } ?? 0 }

    static func topK(_ v: [Float], _ k: Int) -> [Int] { Array(v.indices.sorted { v[$0] > v[$1] }.prefix(k)) }
}
