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
            case .lookup, .plain, .affine: activations.append(l.output)
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

/// A fused activation's float bounds on a layer's output (±∞ when none).
typealias Clamp = (lo: Float, hi: Float)

/// Builds a `QuantizedModel` node by node: the context every op's `lower` reads and extends.
struct Builder {
    let graph: Graph
    let policy: Policy
    let stats: CalibrationStats
    let options: QuantizeOptions
    var tensors: [String: QTensor] = [:]
    var layers: [QLayer] = []
    /// What the quantizer changed to make real weights and ranges fit, one line per fix.
    var notes: [String] = []

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
        var softmaxTensor: String? = nil
        var outputs = graph.outputs
        for (i, n) in graph.nodes.enumerated() where !skip.contains(i) {
            var node = n
            var clamp: Clamp = (-.infinity, .infinity)
            if let f = fused[i] {
                node.output = graph.nodes[f.activation].output
                clamp = (f.lo, f.hi)
            }
            if case .softmax(let axis) = node.op, graph.outputs.contains(node.output), i == graph.nodes.count - 1 {
                // A trailing Softmax stays on the host: the integer model ends at its logits.
                softmaxAxis = axis
                softmaxTensor = node.inputs[0]
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
        var model = QuantizedModel(name: graph.name, input: input, outputs: outputs, tensors: tensors, layers: layers, outputSoftmaxAxis: softmaxAxis)
        model.notes = notes
        model.outputSoftmaxTensor = softmaxTensor
        return model
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
    func bounds(_ t: QTensor, clamp: Clamp) -> (Int32, Int32) {
        var lo = t.quant.qmin, hi = t.quant.qmax
        // Bounds far outside the code range (a Clip at 1e20) are clamped before the conversion.
        func code(_ v: Double) -> Int { Int(Swift.min(Swift.max(v, -1e9), 1e9)) }
        if clamp.lo > -.infinity { lo = Swift.max(lo, code((Double(clamp.lo) / t.quant.scale).rounded(.up))) }
        if clamp.hi < .infinity { hi = Swift.min(hi, code((Double(clamp.hi) / t.quant.scale).rounded(.toNearestOrAwayFromZero))) }
        return (Int32(lo), Int32(Swift.max(lo, hi)))
    }

    mutating func add(_ n: Node, _ op: QOp, inputs: [String], output: QTensor) {
        tensors[output.name] = output
        layers.append(QLayer(name: n.name, op: op, inputs: inputs, output: output.name))
    }

    /// The table from graph ops to integer ops: each case hands the node to its op's lowering.
    mutating func lower(_ n: Node, clamp: Clamp) throws {
        switch n.op {
        case .add where graph.hasConstantOperand(n), .mul where graph.hasConstantOperand(n), .div where graph.hasConstantOperand(n):
            try QChannelAffine.lower(n, clamp: clamp, in: &self)
        case .conv(let c): try QConv.lower(n, c, clamp: clamp, in: &self)
        case .fullyConnected: try QFullyConnected.lower(n, clamp: clamp, in: &self)
        case .add: try QAdd.lower(n, clamp: clamp, in: &self)
        case .mul: try QChannelMul.lower(n, clamp: clamp, in: &self)
        case .concat(let axis): try QConcat.lower(n, axis: axis, clamp: clamp, in: &self)
        case .globalAveragePool, .reduceMean, .averagePool: try QAveragePool.lower(n, clamp: clamp, in: &self)
        case .maxPool(let p): try QMaxPool.lower(n, p, in: &self)
        case .reshape(let shape): try QReshape.lower(n, shape: shape, in: &self)
        case .transpose(let perm): try QReshape.lowerTranspose(n, perm: perm, in: &self)
        case .pad(let pads, let value): try QPad.lower(n, pads: pads, value: value, in: &self)
        case .relu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .elementwise: try QLookup.lower(n, in: &self)
        case .prelu: try QPReLU.lower(n, clamp: clamp, in: &self)
        case .resize(let r) where r.mode == .nearest: try QResizeNearest.lower(n, r, in: &self)
        case .resize(let r): try QResizeBilinear.lower(n, r, in: &self)
        case .slice(let starts, _, let steps): try QSlice.lower(n, starts: starts, steps: steps, in: &self)
        case .depthToSpace(let b, let mode): try QDepthToSpace.lower(n, blockSize: b, mode: mode, in: &self)
        default: throw fail(n, "has no integer implementation in tinympq yet")
        }
    }
}
