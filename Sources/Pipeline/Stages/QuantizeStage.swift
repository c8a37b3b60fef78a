import Foundation
import Graph
import Quantize

/// Stage 3: the policy and calibration data → the integer model.
public enum QuantizeStage {
    public static let name = "quantize"
    public static let number = 3
    /// Bump when what this stage produces for the same inputs changes.
    public static let implementationVersion = 1

    public struct Result: Sendable {
        public var model: QuantizedModel
        /// The same policy quantized without bias correction, for the before/after figure.
        public var withoutBiasCorrection: QuantizedModel
        public var policy: Policy
        public var policySource: String
    }

    /// `rounding` `.hessian` needs the calibration inputs (`calibration`) to measure each layer's H.
    public static func run(graph: Graph, policy: Policy, policySource: String, stats: CalibrationStats, log: StageLog,
                           rounding: RoundingMethod = .nearest, calibration: Tensor? = nil, threads: Int = 2) throws -> Result {
        log.line("policy: \(policySource)")
        log.line("calibration statistics from \(stats.images) inputs (\(stats.synthetic ? "SYNTHETIC" : "from data"))")
        let weights = try WeightRoundingStep.run(graph: graph, policy: policy, rounding: rounding, calibration: calibration, threads: threads, log: log)
        let model = try Quantizer.quantize(graph: graph, policy: policy, stats: stats, options: .init(biasCorrection: true, weights: weights))
        let plain = try Quantizer.quantize(graph: graph, policy: policy, stats: stats, options: .init(biasCorrection: false, weights: weights))
        log.line("\(model.layers.count) integer layers, \(model.parameterBytes) parameter bytes (packed weights + int32 bias/multiplier/shift)")
        for note in model.notes { log.line("adjusted: \(note)") }
        if model.outputSoftmaxAxis != nil { log.line("the trailing Softmax stays on the host; the integer model outputs logits") }
        return Result(model: model, withoutBiasCorrection: plain, policy: policy, policySource: policySource)
    }
}

extension QuantizeStage: PipelineStage {
    static let inputs: [StageInput] = [.graph, .policy, .calibration, .rounding]
    /// The cache-only product the validation compares against.
    static let withoutBiasCorrectionFile = "quantized-without-bias-correction.json"

    static func run(_ c: StageContext, log: StageLog) throws -> StageOutput {
        let g = try c.graph(log)
        let (data, stats) = try c.dataAndStats(log)
        let q = try run(graph: g, policy: try c.policy(), policySource: c.policySource, stats: stats, log: log,
                        rounding: c.budget.rounding, calibration: data.calibration, threads: c.options.threads)
        var r = c.emptyReport()
        let pr = PolicyReport(q.model, source: q.policySource)
        r.policy = pr
        r.quantize = .init(parameterBytes: q.model.parameterBytes, layers: q.model.layers.count)
        return try StageOutput(files: ["quantized.json": jsonData(q.model)],
                               internalFiles: [withoutBiasCorrectionFile: jsonData(q.withoutBiasCorrection)],
                               report: r, markdown: pr.markdown(q.model))
    }
}
