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
    public var runs: Int { isImage ? shape[2] * shape[3] : shape.dropLast().reduce(1, *) }
    /// Codes per run (channels).
    public var runLength: Int { isImage ? shape[1] : (shape.last ?? 1) }
    public var count: Int { runs * runLength }
    /// Bytes of the packed tensor.
    public var bytes: Int { runs * packedBytes(count: runLength, bits: quant.bits) }

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

/// The integer ops. Every multiplier/shift pair follows `requantize` (IntegerKernels.swift).
public enum QOp: Codable, Sendable {
    case conv(QConv)
    case fullyConnected(QFullyConnected)
    /// y = roundShift(x1·m1 + x2·m2, shift)
    case add(m1: Int32, m2: Int32, shift: Int32, lo: Int32, hi: Int32)
    /// y = requant(x · gate[c]) with a per-tensor multiplier; input 1 is the [1, C, 1, 1] gate.
    case channelMul(multiplier: Int32, shift: Int32, lo: Int32, hi: Int32)
    /// Channels (the last axis of each run) of every input side by side, each input requantized
    /// to the output's scale with its own multiplier and shift.
    case concat(multipliers: [Int32], shifts: [Int32], lo: Int32, hi: Int32)
    /// Full windows only (no padding); global average pooling is the H×W window.
    case averagePool(WindowGeometry, multiplier: Int32, shift: Int32, lo: Int32, hi: Int32)
    case maxPool(WindowGeometry)
    /// y = table[x − inputMin]: any element-wise function of a ≤ 8-bit input, exactly.
    case lookup(table: [Int32], inputMin: Int32)
    /// Spatial zero padding of an NHWC tensor, [top, left, bottom, right], filled with `value`.
    case pad(pads: [Int], value: Int32)
    /// Same codes under a new shape; `fromNHWC` reorders an image to logical (NCHW) order first.
    case reshape(fromNHWC: Bool)

    public var name: String {
        switch self {
        case .conv(let c): return c.depthwise ? "DepthwiseConv" : (c.geometry.kH == 1 && c.geometry.kW == 1 && c.groups == 1 ? "PointwiseConv" : "Conv")
        case .fullyConnected: return "FullyConnected"
        case .add: return "Add"
        case .channelMul: return "ChannelMul"
        case .concat: return "Concat"
        case .averagePool: return "AveragePool"
        case .maxPool: return "MaxPool"
        case .lookup: return "Lookup"
        case .pad: return "Pad"
        case .reshape: return "Reshape"
        }
    }
}

/// A convolution with per-output-channel weights and requantization.
public struct QConv: Codable, Sendable {
    public var geometry: WindowGeometry
    public var groups: Int
    public var depthwise: Bool
    public var weightBits: Int
    /// Packed weights: OHWI, one byte-aligned row per output channel; depthwise: [kh][kw][C],
    /// one byte-aligned row per (ky, kx).
    public var weights: [UInt8]
    public var weightScales: [Double]
    public var bias: [Int32]
    public var multiplier: [Int32]
    public var shift: [Int32]
    public var lo: Int32
    public var hi: Int32
    /// The input code of padded positions (the input's zero-point).
    public var padValue: Int32

    public var weightCount: Int { geometry.outC * geometry.kH * geometry.kW * (geometry.inC / groups) }

    public init(geometry: WindowGeometry, groups: Int, depthwise: Bool, weightBits: Int, weights: [UInt8], weightScales: [Double], bias: [Int32], multiplier: [Int32], shift: [Int32], lo: Int32, hi: Int32, padValue: Int32) {
        self.geometry = geometry
        self.groups = groups
        self.depthwise = depthwise
        self.weightBits = weightBits
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.lo = lo
        self.hi = hi
        self.padValue = padValue
    }
}

public struct QFullyConnected: Codable, Sendable {
    public var inC: Int
    public var outC: Int
    public var weightBits: Int
    /// Packed [out][in], one byte-aligned row per output.
    public var weights: [UInt8]
    public var weightScales: [Double]
    public var bias: [Int32]
    public var multiplier: [Int32]
    public var shift: [Int32]
    public var lo: Int32
    public var hi: Int32

    public init(inC: Int, outC: Int, weightBits: Int, weights: [UInt8], weightScales: [Double], bias: [Int32], multiplier: [Int32], shift: [Int32], lo: Int32, hi: Int32) {
        self.inC = inC
        self.outC = outC
        self.weightBits = weightBits
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.lo = lo
        self.hi = hi
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

    public func tensor(_ name: String) -> QTensor? { tensors[name] }

    /// Packed weight bytes plus int32 bias, multiplier and shift per output channel.
    public var parameterBytes: Int {
        layers.reduce(0) { acc, l in
            switch l.op {
            case .conv(let c): return acc + c.weights.count + 12 * c.bias.count
            case .fullyConnected(let f): return acc + f.weights.count + 12 * f.bias.count
            case .lookup(let t, _): return acc + t.count
            default: return acc
            }
        }
    }

    public init(name: String, input: String, outputs: [String], tensors: [String: QTensor], layers: [QLayer], outputSoftmaxAxis: Int?) {
        self.name = name
        self.input = input
        self.outputs = outputs
        self.tensors = tensors
        self.layers = layers
        self.outputSoftmaxAxis = outputSoftmaxAxis
    }
}
