import Foundation
import Quantize

/// `report.json` → `policy`: the bits of every tensor and the bytes of every layer.
public struct PolicyReport: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var layer: String
        public var op: String
        public var weightBits: Int?
        public var inputBits: Int
        public var outputBits: Int
        public var parameterBytes: Int
        public var outputBytes: Int
        /// The layer's output tensor (the key of `validation.layerSQNR`).
        public var output: String?
    }

    public var source: String
    public var weightBits: [String: Int]
    public var activationBits: [String: Int]
    public var layers: [Layer]

    init(_ m: QuantizedModel, source: String) {
        self.source = source
        var w: [String: Int] = [:], a: [String: Int] = [:]
        for (name, t) in m.tensors { a[name] = t.quant.bits }
        layers = m.layers.map { l in
            var wb: Int? = nil
            let pb = l.op.parameterBytes
            switch l.op {
            case .conv(let c): wb = c.weightBits
            case .fullyConnected(let f): wb = f.weightBits
            default: break
            }
            if let wb { w[l.name] = wb }
            return Layer(layer: l.name, op: l.op.name, weightBits: wb, inputBits: m.tensors[l.inputs[0]]?.quant.bits ?? 0,
                         outputBits: m.tensors[l.output]?.quant.bits ?? 0, parameterBytes: pb, outputBytes: m.tensors[l.output]?.bytes ?? 0,
                         output: l.output)
        }
        weightBits = w
        activationBits = a
    }

    func markdown(_ m: QuantizedModel) -> String {
        var s = "## Quantization\n\n- policy: \(source)\n- \(m.layers.count) integer layers, \(Markdown.int(m.parameterBytes)) parameter bytes "
        s += "(packed weights + int32 bias, multiplier and shift per channel)\n"
        if m.outputSoftmaxAxis != nil { s += "- the trailing Softmax stays on the host: the integer model outputs logits\n" }
        s += "\n"
        let rows = layers.enumerated().map { i, l in
            [String(i), "`\(l.layer)`", l.op, l.weightBits.map(String.init) ?? "", String(l.inputBits), String(l.outputBits),
             Markdown.int(l.parameterBytes), Markdown.int(l.outputBytes)]
        }
        s += Markdown.table(["#", "layer", "op", "w bits", "in bits", "out bits", "param bytes", "out bytes"], rows, rightAligned: [0, 3, 4, 5, 6, 7])
        return s
    }
}

/// `report.json` → `validation`.
public struct ValidationReport: Codable, Sendable {
    public var data: String
    public var synthetic: Bool
    public var images: Int
    public var accuracyFloat: Double?
    public var accuracyQuantized: Double?
    public var top1Agreement: Double
    public var top5Agreement: Double?
    public var meanKL: Double
    public var biasCorrection: BiasCorrection
    public var layerSQNR: [String: Double]
    /// The same SQNR per layer in execution order, with the layer, its output tensor, op and bits.
    public var layers: [ValidationResult.LayerSQNR]?
    public var maxAccuracyDrop: Double?
    public var passed: Bool
    /// Every model output, named (the fields above are the first output's).
    public var outputs: [ValidationResult.OutputResult]?

    public struct BiasCorrection: Codable, Sendable {
        public var top1AgreementWithout: Double
        public var meanKLWithout: Double
        public var accuracyQuantizedWithout: Double?
    }

    init(_ v: ValidateStage.Output) {
        let r = v.result
        data = v.data
        synthetic = v.synthetic
        images = r.images
        accuracyFloat = v.synthetic ? nil : r.accuracyFloat
        accuracyQuantized = v.synthetic ? nil : r.accuracyQuantized
        top1Agreement = r.top1Agreement
        top5Agreement = r.top5Agreement
        meanKL = r.meanKL
        biasCorrection = BiasCorrection(top1AgreementWithout: v.withoutBiasCorrection.top1Agreement, meanKLWithout: v.withoutBiasCorrection.meanKL,
                                        accuracyQuantizedWithout: v.synthetic ? nil : v.withoutBiasCorrection.accuracyQuantized)
        layerSQNR = Dictionary(r.layers.map { ($0.tensor, $0.sqnrDB) }, uniquingKeysWith: { a, _ in a })
        layers = r.layers
        maxAccuracyDrop = v.maxAccuracyDrop
        passed = v.passed
        outputs = r.outputs
    }

    static func markdown(_ v: ValidateStage.Output) -> String {
        let r = v.result
        var s = "## Validation\n\n"
        if v.synthetic {
            s += "**NO DATA: the model was calibrated and validated on synthetic random inputs. No accuracy is claimed; "
            s += "agreement and KL below only compare the integer model with the float model on noise.** "
            s += "Put `NAME.npz` (array `x`, optional labels `y`) beside the model.\n\n"
        } else if v.validationIsCalibration {
            s += "**Validated on the calibration data** (no `NAME.val.npz`): figures are optimistic.\n\n"
        }
        s += "- data: \(v.data), \(r.images) inputs\n"
        if let f = r.accuracyFloat, let q = r.accuracyQuantized, !v.synthetic {
            s += String(format: "- top-1 accuracy: float %.2f%%, quantized %.2f%% (drop %.2f points)\n", f, q, f - q)
        }
        s += String(format: "- top-1 agreement with float: %.2f%%", r.top1Agreement)
        if let t5 = r.top5Agreement { s += String(format: "; float's top-1 within quantized top-5: %.2f%%", t5) }
        s += String(format: "\n- mean KL(float ‖ quantized) of the output distributions: %.5f\n", r.meanKL)
        let r0 = v.withoutBiasCorrection
        s += String(format: "- bias correction (measured): agreement %.2f%% → %.2f%%, KL %.5f → %.5f", r0.top1Agreement, r.top1Agreement, r0.meanKL, r.meanKL)
        if let a0 = r0.accuracyQuantized, let a1 = r.accuracyQuantized, !v.synthetic { s += String(format: ", accuracy %.2f%% → %.2f%%", a0, a1) }
        s += "\n"
        if let gate = v.maxAccuracyDrop { s += "- accuracy gate (max drop \(gate) points): \(v.passed ? "passed" : "**FAILED**")\n" }
        if let outs = r.outputs, outs.count > 1 {
            s += "\nPer output (integer against float):\n\n"
            let rows = outs.map { o in
                ["`\(o.name)`", Markdown.shape(o.shape), o.kind.rawValue, o.top1Agreement.map { String(format: "%.2f%%", $0) } ?? "–",
                 o.meanKL.map { String(format: "%.5f", $0) } ?? "–", String(format: "%.1f", o.sqnrDB), String(format: "%.4g", o.maxAbsError)]
            }
            s += Markdown.table(["output", "shape", "kind", "top-1 agreement", "KL", "SQNR dB", "max abs error"], rows, rightAligned: [3, 4, 5, 6])
        }
        s += "\nPer-layer SQNR (dequantized integer activation against float; where error enters):\n\n"
        let rows = r.layers.map { ["`\($0.layer)`", $0.op, String($0.bits), String(format: "%.1f", $0.sqnrDB)] }
        s += Markdown.table(["layer", "op", "bits", "SQNR dB"], rows, rightAligned: [2, 3])
        return s
    }
}
