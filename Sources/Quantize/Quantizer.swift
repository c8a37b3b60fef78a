import Foundation
import Graph
import Kernels

public struct QuantizeOptions: Sendable {
    /// Empirical bias correction: remove the mean output shift weight quantization adds.
    public var biasCorrection: Bool
    /// Weight codes and scales chosen ahead (by layer name), e.g. by `HessianRounding`; layers
    /// not listed are rounded to nearest.
    public var weights: [String: RoundedWeights]
    public init(biasCorrection: Bool = true, weights: [String: RoundedWeights] = [:]) {
        self.biasCorrection = biasCorrection
        self.weights = weights
    }
}

/// The one quantizer: a float graph, a policy and calibration statistics in, the integer model
/// out (weights per output channel, activations per tensor, requantization per channel).
public enum Quantizer {
    /// The names a policy may set: weight tensors by layer node name, activation tensors by name.
    public static func policyTargets(_ graph: Graph) -> (weights: [String], activations: [String]) {
        var weights: [String] = [], activations: [String] = []
        for l in graph.integerLayers() {
            switch l.kind {
            case .weighted:
                weights.append(l.name)
                activations.append(l.output)
            case .lookup, .plain: activations.append(l.output)
            case .tied, .hostSoftmax: break  // tied to their input, or left in float
            }
        }
        return (weights, activations)
    }

    public static func quantize(graph: Graph, policy: Policy, stats: CalibrationStats, options: QuantizeOptions = .init()) throws -> QuantizedModel {
        var q = Builder(graph: graph, policy: policy, stats: stats, options: options)
        return try q.build()
    }
}

/// Builds a `QuantizedModel` node by node.
struct Builder {
    let graph: Graph
    let policy: Policy
    let stats: CalibrationStats
    let options: QuantizeOptions
    var tensors: [String: QTensor] = [:]
    var layers: [QLayer] = []

    init(graph: Graph, policy: Policy, stats: CalibrationStats, options: QuantizeOptions) {
        self.graph = graph
        self.policy = policy
        self.stats = stats
        self.options = options
    }

    mutating func build() throws -> QuantizedModel {
        guard let input = graph.inputs.first, let inStats = stats.tensors[input] else {
            throw QuantizeError(node: "-", op: "-", "no calibration statistics for the model input")
        }
        // The network input: 8-bit unsigned with a zero-point covering [min(0, lo), max(0, hi)].
        let lo = Double(Swift.min(0, inStats.min)), hi = Double(Swift.max(0, inStats.max))
        let scale = Swift.max(hi - lo, 1e-8) / 255
        let zero = Int((-lo / scale).rounded(.toNearestOrAwayFromZero))
        tensors[input] = QTensor(name: input, shape: graph.shape(input), quant: ActivationQuant(bits: 8, signed: false, scale: scale, zeroPoint: min(max(zero, 0), 255)))

        let fused = graph.fusedActivations()
        let skip = Set(fused.values.map(\.activation))
        var softmaxAxis: Int? = nil
        var outputs = graph.outputs
        for (i, n) in graph.nodes.enumerated() where !skip.contains(i) {
            var node = n
            var clamp: (Float, Float) = (-.infinity, .infinity)
            if let f = fused[i] {
                node.output = graph.nodes[f.activation].output
                clamp = (f.lo, f.hi)
            }
            if case .softmax(let axis) = node.op, graph.outputs.contains(node.output), i == graph.nodes.count - 1 {
                // A trailing Softmax stays on the host: the integer model ends at its logits.
                softmaxAxis = axis
                outputs = outputs.map { $0 == node.output ? node.inputs[0] : $0 }
                continue
            }
            do {
                try lower(node, clamp: clamp)
            } catch let e as QuantizeError where e.node == "-" {
                throw QuantizeError(node: node.name, op: node.op.name, e.message)
            }
        }
        for o in outputs where tensors[o] == nil {
            throw QuantizeError(node: o, op: "Output", "graph output is not produced by the integer model")
        }
        return QuantizedModel(name: graph.name, input: input, outputs: outputs, tensors: tensors, layers: layers, outputSoftmaxAxis: softmaxAxis)
    }

    func fail(_ n: Node, _ m: String) -> QuantizeError { QuantizeError(node: n.name, op: n.op.name, m) }

    func inputTensor(_ n: Node, _ i: Int) throws -> QTensor {
        guard i < n.inputs.count, let t = tensors[n.inputs[i]] else {
            if i < n.inputs.count, graph.isConstant(n.inputs[i]) {
                throw fail(n, "has a constant operand '\(n.inputs[i])', which has no integer implementation in tinympq")
            }
            throw fail(n, "input \(i) is not quantized (unsupported producer)")
        }
        return t
    }

    /// A new activation tensor with its scale calibrated for `bits`.
    func calibrated(_ name: String, signed: Bool, bits: Int) throws -> QTensor {
        guard let s = stats.tensors[name] else { throw QuantizeError(node: name, op: "Tensor", "no calibration statistics") }
        return QTensor(name: name, shape: graph.shape(name), quant: FakeQuant.activation(s, signed: signed, bits: bits))
    }

    /// Clamp bounds of an output: its code range, narrowed by a fused ReLU6/Clip upper bound.
    func bounds(_ t: QTensor, clamp: (Float, Float)) -> (Int32, Int32) {
        var lo = t.quant.qmin, hi = t.quant.qmax
        // Bounds far outside the code range (a Clip at 1e20) are clamped before the conversion.
        func code(_ v: Double) -> Int { Int(Swift.min(Swift.max(v, -1e9), 1e9)) }
        if clamp.0 > -.infinity { lo = Swift.max(lo, code((Double(clamp.0) / t.quant.scale).rounded(.up))) }
        if clamp.1 < .infinity { hi = Swift.min(hi, code((Double(clamp.1) / t.quant.scale).rounded(.toNearestOrAwayFromZero))) }
        return (Int32(lo), Int32(Swift.max(lo, hi)))
    }

    mutating func add(_ n: Node, _ op: QOp, inputs: [String], output: QTensor) {
        tensors[output.name] = output
        layers.append(QLayer(name: n.name, op: op, inputs: inputs, output: output.name))
    }

    mutating func lower(_ n: Node, clamp: (Float, Float)) throws {
        let bits = policy.activationBits(n.output)
        switch n.op {
        case .conv(let c):
            let x = try inputTensor(n, 0)
            let out = try calibrated(n.output, signed: clamp.0 < 0, bits: bits)
            add(n, .conv(try convLayer(n, c, x: x, out: out, clamp: clamp)), inputs: [x.name], output: out)
        case .fullyConnected:
            let x = try inputTensor(n, 0)
            let out = try calibrated(n.output, signed: clamp.0 < 0, bits: bits)
            add(n, .fullyConnected(try fcLayer(n, x: x, out: out, clamp: clamp)), inputs: [x.name], output: out)
        case .add:
            let a = try inputTensor(n, 0), b = try inputTensor(n, 1)
            guard a.shape == b.shape, a.quant.zeroPoint == 0, b.quant.zeroPoint == 0 else {
                throw fail(n, "only residual adds of two equally shaped activations are supported")
            }
            let out = try calibrated(n.output, signed: true, bits: bits)
            let (m1, m2, t) = try sharedShift(a.quant.scale / out.quant.scale, b.quant.scale / out.quant.scale)
            let (lo, hi) = bounds(out, clamp: clamp)
            add(n, .add(m1: m1, m2: m2, shift: t, lo: lo, hi: hi), inputs: [a.name, b.name], output: out)
        case .mul:
            let a = try inputTensor(n, 0), g = try inputTensor(n, 1)
            guard a.isImage, g.shape == [1, a.shape[1], 1, 1], a.quant.zeroPoint == 0, g.quant.zeroPoint == 0 else {
                throw fail(n, "only an activation times a per-channel gate [1, C, 1, 1] (squeeze-excite) is supported")
            }
            let out = try calibrated(n.output, signed: a.quant.signed || g.quant.signed, bits: bits)
            let m = try FixedMultiplier((a.quant.scale * g.quant.scale) / out.quant.scale)
            let (lo, hi) = bounds(out, clamp: clamp)
            add(n, .channelMul(multiplier: m.multiplier, shift: m.shift, lo: lo, hi: hi), inputs: [a.name, g.name], output: out)
        case .concat(let axis):
            let xs = try n.inputs.indices.map { try inputTensor(n, $0) }
            let channelAxis = xs[0].isImage ? 1 : xs[0].shape.count - 1
            guard axis == channelAxis, xs.allSatisfy({ $0.quant.zeroPoint == 0 && $0.runs == xs[0].runs && $0.shape.count == xs[0].shape.count }) else {
                throw fail(n, "only a concatenation of channels (axis 1 of images, the last axis otherwise) without zero-points is supported")
            }
            let out = try calibrated(n.output, signed: xs.contains { $0.quant.signed }, bits: bits)
            let ms = try xs.map { try FixedMultiplier($0.quant.scale / out.quant.scale) }
            let (lo, hi) = bounds(out, clamp: clamp)
            add(n, .concat(multipliers: ms.map(\.multiplier), shifts: ms.map(\.shift), lo: lo, hi: hi), inputs: xs.map(\.name), output: out)
        case .globalAveragePool, .reduceMean, .averagePool:
            let x = try inputTensor(n, 0)
            guard x.isImage, x.quant.zeroPoint == 0 else { throw fail(n, "pooling needs an image input without zero-point") }
            var geo: WindowGeometry
            let o = graph.shape(n.output)
            switch n.op {
            case .averagePool(let p):
                guard p.pads == [0, 0, 0, 0] else { throw fail(n, "padded average pooling has no integer implementation in tinympq") }
                geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: o[1],
                                     kH: p.kernelShape[0], kW: p.kernelShape[1], strideH: p.strides[0], strideW: p.strides[1], padTop: 0, padLeft: 0)
            case .reduceMean(let axes, _) where axes != [2, 3]:
                throw fail(n, "ReduceMean over axes \(axes) has no integer implementation (only over H and W)")
            default:
                geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: 1, outW: 1, outC: x.shape[1],
                                     kH: x.shape[2], kW: x.shape[3], strideH: 1, strideW: 1, padTop: 0, padLeft: 0)
            }
            let out = try calibrated(n.output, signed: x.quant.signed, bits: bits)
            let area = Double(geo.kH * geo.kW)
            let m = try FixedMultiplier(x.quant.scale / (out.quant.scale * area))
            let (lo, hi) = bounds(out, clamp: clamp)
            add(n, .averagePool(geo, multiplier: m.multiplier, shift: m.shift, lo: lo, hi: hi), inputs: [x.name], output: out)
        case .maxPool(let p):
            let x = try inputTensor(n, 0)
            let o = graph.shape(n.output)
            let geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: o[1],
                                     kH: p.kernelShape[0], kW: p.kernelShape[1], strideH: p.strides[0], strideW: p.strides[1],
                                     padTop: p.pads[0], padLeft: p.pads[1])
            add(n, .maxPool(geo), inputs: [x.name], output: QTensor(name: n.output, shape: o, quant: x.quant))
        case .reshape(let shape):
            let x = try inputTensor(n, 0)
            let layoutFree = !x.isImage || x.shape[2] * x.shape[3] == 1 || x.shape[1] == 1
            guard shape.count != 4 || layoutFree else { throw fail(n, "a reshape between two images of different layout is not supported") }
            add(n, .reshape(fromNHWC: !layoutFree), inputs: [x.name], output: QTensor(name: n.output, shape: shape, quant: x.quant))
        case .pad(let pads, let value):
            let x = try inputTensor(n, 0)
            guard x.isImage, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0 else { throw fail(n, "only spatial padding of an image is supported") }
            let code = x.quant.quantize(value)
            add(n, .pad(pads: [pads[2], pads[3], pads[6], pads[7]], value: code), inputs: [x.name],
                output: QTensor(name: n.output, shape: graph.shape(n.output), quant: x.quant))
        case .relu, .clip, .sigmoid, .hardSigmoid, .hardSwish:
            let x = try inputTensor(n, 0)
            let f: (Float) -> Float
            var unsigned = true
            switch n.op {
            case .relu: f = { Swift.max($0, 0) }
            case .clip(let lo, let hi):
                f = { Swift.min(Swift.max($0, lo), hi) }
                unsigned = lo >= 0
            case .sigmoid: f = { 1 / (1 + exp(-$0)) }
            case .hardSigmoid(let a, let b): f = { Swift.min(Swift.max(a * $0 + b, 0), 1) }
            default:
                f = { $0 * Swift.min(Swift.max($0 / 6 + 0.5, 0), 1) }
                unsigned = false
            }
            let out = try calibrated(n.output, signed: !unsigned, bits: bits)
            let table = (x.quant.qmin...x.quant.qmax).map { out.quant.quantize(f(x.quant.dequantize(Int32($0)))) }
            add(n, .lookup(table: table, inputMin: Int32(x.quant.qmin)), inputs: [x.name], output: out)
        default:
            throw fail(n, "has no integer implementation in tinympq yet")
        }
    }

    /// Bias in int32 at scale s_in·s_w[c], the input zero-point folded in, and per-channel
    /// requantization.
    func biasAndRequant(
        _ n: Node, bias: [Float], codes: [Int32], scales: [Double], x: QTensor, out: QTensor
    ) throws -> (bias: [Int32], m: [Int32], t: [Int32]) {
        let rows = scales.count, per = codes.count / rows
        var b = [Int32](repeating: 0, count: rows), m = b, t = b
        for c in 0..<rows {
            let accScale = x.quant.scale * scales[c]
            var acc = (Double(bias[c]) / accScale).rounded(.toNearestOrAwayFromZero)
            if x.quant.zeroPoint != 0 {
                let sumW = codes[c * per..<(c + 1) * per].reduce(0) { $0 + Int($1) }
                acc -= Double(x.quant.zeroPoint * sumW)
            }
            guard abs(acc) < Double(Int32.max) / 2 else { throw fail(n, "bias of channel \(c) does not fit in int32 at scale \(accScale)") }
            b[c] = Int32(acc)
            let fm = try FixedMultiplier((x.quant.scale * scales[c]) / out.quant.scale)
            m[c] = fm.multiplier
            t[c] = fm.shift
        }
        // The accumulator bound: every product plus the bias must stay inside int32.
        let xmax = Swift.max(abs(x.quant.qmin), abs(x.quant.qmax))
        for c in 0..<rows {
            let wsum = codes[c * per..<(c + 1) * per].reduce(0) { $0 + abs(Int($1)) }
            guard wsum * xmax + abs(Int(b[c])) < Int(Int32.max) else { throw fail(n, "accumulator of channel \(c) could overflow int32") }
        }
        return (b, m, t)
    }

    /// Float bias, with bias correction applied when enabled: b − Σ (W_q − W)·E[x].
    func correctedBias(_ n: Node, w: [Float], codes: [Int32], scales: [Double], rows: Int, taps: Int, inputChannelsPerGroup: Int,
                       group: (Int) -> Int, x: QTensor) -> [Float] {
        var bias = n.inputs.count > 2 ? (graph.constants[n.inputs[2]]?.data ?? []) : []
        if bias.isEmpty { bias = [Float](repeating: 0, count: rows) }
        guard options.biasCorrection, let mean = stats.tensors[x.name]?.channelMeans, !mean.isEmpty else { return bias }
        let per = w.count / rows
        for r in 0..<rows {
            var shift = 0.0
            for j in 0..<per {
                let ci = group(r) * inputChannelsPerGroup + (j / taps)
                guard ci < mean.count else { continue }
                shift += (Double(codes[r * per + j]) * scales[r] - Double(w[r * per + j])) * mean[ci]
            }
            bias[r] -= Float(shift)
        }
        return bias
    }

    func convLayer(_ n: Node, _ c: Conv2D, x: QTensor, out: QTensor, clamp: (Float, Float)) throws -> QConv {
        guard let wt = graph.constants[n.inputs[1]] else { throw fail(n, "weights are not constant") }
        let (cout, cinG, kh, kw) = (wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3])
        let bits = policy.weightBits(n.name)
        let (codes, scales) = try weightCodes(n, wt, bits: bits)  // OIHW rows
        let coutG = cout / c.group
        let bias = correctedBias(n, w: wt.data, codes: codes, scales: scales, rows: cout, taps: kh * kw, inputChannelsPerGroup: cinG,
                                 group: { $0 / coutG }, x: x)
        let (b, m, t) = try biasAndRequant(n, bias: bias, codes: codes, scales: scales, x: x, out: out)
        let o = out.shape
        let geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: cout, kH: kh, kW: kw,
                                 strideH: c.strides[0], strideW: c.strides[1], dilationH: c.dilations[0], dilationW: c.dilations[1],
                                 padTop: c.pads[0], padLeft: c.pads[1])
        let depthwise = c.group == x.shape[1] && cout == x.shape[1] && c.group > 1
        // OIHW codes → the packed layout.
        var ordered = [Int32](repeating: 0, count: codes.count)
        if depthwise {
            for ch in 0..<cout { for ky in 0..<kh { for kx in 0..<kw { ordered[(ky * kw + kx) * cout + ch] = codes[(ch * kh + ky) * kw + kx] } } }
        } else {
            for co in 0..<cout { for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                ordered[((co * kh + ky) * kw + kx) * cinG + ci] = codes[((co * cinG + ci) * kh + ky) * kw + kx]
            } } } }
        }
        let packed = depthwise ? pack(ordered, runs: kh * kw, runLength: cout, bits: bits) : pack(ordered, runs: cout, runLength: kh * kw * cinG, bits: bits)
        let (lo, hi) = bounds(out, clamp: clamp)
        return QConv(geometry: geo, groups: c.group, depthwise: depthwise, weightBits: bits, weights: packed, weightScales: scales,
                     bias: b, multiplier: m, shift: t, lo: lo, hi: hi, padValue: Int32(x.quant.zeroPoint))
    }

    func fcLayer(_ n: Node, x: QTensor, out: QTensor, clamp: (Float, Float)) throws -> QFullyConnected {
        guard let wt = graph.constants[n.inputs[1]] else { throw fail(n, "weights are not constant") }
        let (outC, inC) = (wt.shape[0], wt.shape[1])
        let bits = policy.weightBits(n.name)
        let (codes, scales) = try weightCodes(n, wt, bits: bits)
        let rank2 = x.shape.count == 2
        let bias = rank2 ? correctedBias(n, w: wt.data, codes: codes, scales: scales, rows: outC, taps: 1, inputChannelsPerGroup: inC,
                                         group: { _ in 0 }, x: x)
            : (n.inputs.count > 2 ? graph.constants[n.inputs[2]]?.data ?? [] : [Float](repeating: 0, count: outC))
        let (b, m, t) = try biasAndRequant(n, bias: bias.isEmpty ? [Float](repeating: 0, count: outC) : bias, codes: codes, scales: scales, x: x, out: out)
        let (lo, hi) = bounds(out, clamp: clamp)
        return QFullyConnected(inC: inC, outC: outC, weightBits: bits, weights: pack(codes, runs: outC, runLength: inC, bits: bits),
                               weightScales: scales, bias: b, multiplier: m, shift: t, lo: lo, hi: hi)
    }
}
