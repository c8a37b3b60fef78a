import Foundation
import Kernels
import Graph
import Quantize

/// Stage 4: both models on the validation data; fails (exit 3) past the accuracy gate.
public enum ValidateStage {
    public static let name = "validate"
    public static let number = 4
    /// Bump when what this stage produces for the same inputs changes.
    public static let implementationVersion = 1

    public struct Output: Codable, Sendable {
        public var data: String
        public var synthetic: Bool
        public var validationIsCalibration: Bool
        public var result: ValidationResult
        public var withoutBiasCorrection: ValidationResult
        public var parameterBytes: Int
        public var maxAccuracyDrop: Double?
        public var accuracyDrop: Double?
        public var passed: Bool
    }

    public static func run(graph: Graph, quantized: QuantizeStage.Result, data: ModelData, maxAccuracyDrop: Double?, threads: Int, log: StageLog) throws -> Output {
        log.line("validating on \(data.validation.shape[0]) inputs: \(data.source)")
        // Both models count towards one estimate of the time left.
        let meter = ProgressMeter("validation", total: 2 * data.validation.shape[0], unit: "inferences", report: { log.line($0) })
        let r = try Validator.evaluate(graph: graph, model: quantized.model, x: data.validation, labels: data.validationLabels, threads: threads,
                                       progress: meter)
        let r0 = try Validator.evaluate(graph: graph, model: quantized.withoutBiasCorrection, x: data.validation, labels: data.validationLabels,
                                        threads: threads, progress: meter)
        log.line(String(format: "top-1 agreement %.2f%%, mean KL %.5f (without bias correction: %.2f%%, %.5f)", r.top1Agreement, r.meanKL, r0.top1Agreement, r0.meanKL))
        var drop: Double? = nil
        if let f = r.accuracyFloat, let q = r.accuracyQuantized {
            drop = f - q
            log.line(String(format: "accuracy: float %.2f%%, quantized %.2f%% (drop %.2f points)", f, q, f - q))
        }
        var passed = true
        if let gate = maxAccuracyDrop {
            if let drop {
                passed = drop <= gate
                log.line(passed ? "accuracy gate passed (max drop \(gate))" : String(format: "ACCURACY GATE FAILED: drop %.2f > %.2f points", drop, gate))
            } else {
                log.line("accuracy gate \(gate) not checked: the data has no labels")
            }
        }
        return Output(data: data.source, synthetic: data.synthetic, validationIsCalibration: data.validationIsCalibration, result: r,
                      withoutBiasCorrection: r0, parameterBytes: quantized.model.parameterBytes, maxAccuracyDrop: maxAccuracyDrop,
                      accuracyDrop: drop, passed: passed)
    }
}

extension ValidateStage: PipelineStage {
    static let inputs: [StageInput] = [.graph, .quantized, .plain, .calibration, .validation, .gate]

    static func run(_ c: StageContext, log: StageLog) throws -> StageOutput {
        let g = try c.graph(log)
        let (data, _) = try c.dataAndStats(log)
        let (model, plain) = try c.quantized()
        let result = QuantizeStage.Result(model: model, withoutBiasCorrection: plain, policy: try c.policy(), policySource: c.policySource)
        let v = try run(graph: g, quantized: result, data: data, maxAccuracyDrop: c.gate, threads: c.options.threads, log: log)
        var r = c.emptyReport()
        r.validation = ValidationReport(v)
        return try StageOutput(files: ["validation.json": jsonData(v)], report: r, markdown: ValidationReport.markdown(v))
    }
}
