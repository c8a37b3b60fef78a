import Graph
import Kernels

/// How one activation tensor is stored: b-bit codes q with real value (q − zeroPoint)·scale.
/// Unsigned after ReLU/ReLU6, signed otherwise; the zero-point is 0 except on the network input.
public struct ActivationQuant: Codable, Sendable, Equatable {
    public var bits: Int
    public var signed: Bool
    public var scale: Double
    public var zeroPoint: Int

    public init(bits: Int, signed: Bool, scale: Double, zeroPoint: Int = 0) {
        self.bits = bits
        self.signed = signed
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    public var qmin: Int { signed ? -(1 << (bits - 1)) : 0 }
    public var qmax: Int { signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1 }

    public func quantize(_ x: Float) -> Int32 {
        let q = (Double(x) / scale).rounded(.toNearestOrAwayFromZero) + Double(zeroPoint)
        return Int32(min(max(q, Double(qmin)), Double(qmax)))
    }

    public func dequantize(_ q: Int32) -> Float { Float(Double(Int(q) - zeroPoint) * scale) }
}

/// An activation tensor of the integer model. Rank-4 tensors ([1, C, H, W] logically) are
/// stored NHWC: H·W runs of C codes, each run packed and padded to a whole byte. Other ranks:
/// one run per row of the last axis.
public struct QTensor: Codable, Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var quant: ActivationQuant

    public var isImage: Bool { shape.count == 4 }
    /// Number of packed runs (pixels).
    public var runs: Int { IntegerLayout.runs(shape).runs }
    /// Codes per run (channels).
    public var runLength: Int { IntegerLayout.runs(shape).runLength }
    public var count: Int { runs * runLength }
    /// Bytes of the packed tensor.
    public var bytes: Int { IntegerLayout.packedBytes(shape: shape, bits: quant.bits) }

    public init(name: String, shape: [Int], quant: ActivationQuant) {
        self.name = name
        self.shape = shape
        self.quant = quant
    }
}

/// One integer layer. Inputs and output name `QTensor`s of the model.
public struct QLayer: Codable, Sendable {
    public var name: String
    public var op: QOp
    public var inputs: [String]
    public var output: String

    public init(name: String, op: QOp, inputs: [String], output: String) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
    }
}

/// The integer-only model: what the Swift engine runs and codegen emits.
public struct QuantizedModel: Codable, Sendable {
    public var name: String
    public var input: String
    public var outputs: [String]
    public var tensors: [String: QTensor]
    public var layers: [QLayer]
    /// A trailing float Softmax was left to the host: outputs are its (dequantized) logits.
    public var outputSoftmaxAxis: Int?
    /// The output (logits) the host-side Softmax applies to; the other outputs are returned as
    /// they are. (nil in models saved before it was recorded: then the first output.)
    public var outputSoftmaxTensor: String?
    /// What the quantizer adjusted so real weights fit (dead channels, biases beyond int32,
    /// zero-range outputs), one line each naming the node and channels.
    public var notes: [String] = []

    public func tensor(_ name: String) -> QTensor? { tensors[name] }

    /// The index in `outputs` of the output the host-side Softmax applies to, if any.
    public var outputSoftmaxIndex: Int? {
        guard outputSoftmaxAxis != nil else { return nil }
        guard let t = outputSoftmaxTensor else { return 0 }
        return outputs.firstIndex(of: t)
    }

    /// Bytes of every layer's parameters (the emitted blob's size).
    public var parameterBytes: Int { layers.reduce(0) { $0 + $1.op.parameterBytes } }

    public init(name: String, input: String, outputs: [String], tensors: [String: QTensor], layers: [QLayer], outputSoftmaxAxis: Int?) {
        self.name = name
        self.input = input
        self.outputs = outputs
        self.tensors = tensors
        self.layers = layers
        self.outputSoftmaxAxis = outputSoftmaxAxis
    }
}
