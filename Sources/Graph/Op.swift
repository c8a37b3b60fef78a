/// The closed op vocabulary of the IR. Importers lower their formats onto it; constant
/// sub-graphs (shape arithmetic, weight reshapes) are folded away before a node is created, so
/// every node here works on at least one activation tensor.
///
/// Inputs are tensor names: activations, or entries of `Graph.constants` where an op takes
/// weights (listed per case). Shapes are ONNX's logical shapes (NCHW for images).
public enum Op: Sendable, Hashable {
    /// x, weight [cout][cin/group][kh][kw], optional bias [cout].
    case conv(Conv2D)
    /// x [..., in], weight [out][in], optional bias [out]: y = x·Wᵀ + b over the last axis.
    case fullyConnected
    /// x, scale [C], shift [C]: y = x·scale + shift per channel (axis 1). A BatchNormalization
    /// that could not be folded into a convolution.
    case batchNorm
    case relu
    case clip(min: Float, max: Float)
    case sigmoid
    /// y = max(0, min(1, alpha·x + beta)).
    case hardSigmoid(alpha: Float, beta: Float)
    /// y = x · max(0, min(1, x/6 + 1/2)).
    case hardSwish
    /// A function of one activation applied to every element (see `ScalarFunction`).
    case elementwise(ScalarFunction)
    /// x, slope: y = x > 0 ? x : slope·x, the slope per channel (axis 1, shape [C]) or one value [1].
    case prelu
    /// Element-wise with NumPy broadcasting; either input may be a constant.
    case add
    case sub
    case mul
    case div
    case globalAveragePool
    case averagePool(Pool2D)
    case maxPool(Pool2D)
    case reduceMean(axes: [Int], keepDims: Bool)
    /// Reshape, Flatten, Squeeze and Unsqueeze: the data in logical order, under a new shape.
    case reshape(shape: [Int])
    case transpose(perm: [Int])
    /// Softmax over one axis (ONNX opset 13 semantics).
    case softmax(axis: Int)
    /// Constant padding; `pads` holds the begins of every axis, then the ends (ONNX order).
    case pad(pads: [Int], value: Float)
    case concat(axis: Int)
    /// Resampling of the two spatial axes of an NCHW image.
    case resize(Resize)
    /// x, weight [cin][cout/group][kh][kw], optional bias [cout] (ONNX ConvTranspose).
    case convTranspose(ConvTranspose2D)
    /// Moves blocks of channels into space: [N, C·b², H, W] → [N, C, H·b, W·b].
    case depthToSpace(blockSize: Int, mode: DepthToSpaceMode)
    /// Every axis a: elements starts[a], starts[a] + steps[a], … below ends[a] (steps ≥ 1).
    case slice(starts: [Int], ends: [Int], steps: [Int])

    /// The name shown in reports and errors.
    public var name: String {
        switch self {
        case .conv(let c): return c.group == 1 ? "Conv" : "GroupConv"
        case .fullyConnected: return "FullyConnected"
        case .batchNorm: return "BatchNorm"
        case .relu: return "Relu"
        case .clip(let lo, let hi): return lo == 0 && hi == 6 ? "Relu6" : "Clip"
        case .sigmoid: return "Sigmoid"
        case .hardSigmoid: return "HardSigmoid"
        case .hardSwish: return "HardSwish"
        case .elementwise(let f): return Self.elementwiseName(f)
        case .prelu: return "PRelu"
        case .add: return "Add"
        case .sub: return "Sub"
        case .mul: return "Mul"
        case .div: return "Div"
        case .globalAveragePool: return "GlobalAveragePool"
        case .averagePool: return "AveragePool"
        case .maxPool: return "MaxPool"
        case .reduceMean: return "ReduceMean"
        case .reshape: return "Reshape"
        case .transpose: return "Transpose"
        case .softmax: return "Softmax"
        case .pad: return "Pad"
        case .concat: return "Concat"
        case .resize(let r): return r.mode == .nearest ? "ResizeNearest" : "ResizeLinear"
        case .convTranspose: return "ConvTranspose"
        case .depthToSpace: return "DepthToSpace"
        case .slice: return "Slice"
        }
    }

    /// Familiar names for the trees exporters decompose most often, "Elementwise" otherwise.
    static func elementwiseName(_ f: ScalarFunction) -> String {
        let known: [(String, ScalarFunction)] = [
            ("HardSwish", .x * .clip(.x + .constant(3), 0, 6) / .constant(6)),
            ("SiLU", .x * .unary(.sigmoid, .x)),
            ("Sigmoid", .unary(.sigmoid, .x)),
            ("Tanh", .unary(.tanh, .x)),
            ("HardSigmoid", .clip(.x / .constant(6) + .constant(0.5), 0, 1)),
        ]
        if let k = known.first(where: { $0.1 == f }) { return k.0 }
        return known.first { f.matches($0.1) }?.0 ?? "Elementwise"
    }
}

public enum DepthToSpaceMode: String, Sendable, Hashable {
    /// depth-column-row: input channel (i·b + j)·C + c (ONNX default, TFLite DEPTH_TO_SPACE).
    case dcr
    /// column-row-depth: input channel c·b² + i·b + j (PixelShuffle).
    case crd
}

/// ONNX Resize semantics on H and W: a source coordinate per output pixel, then the nearest
/// input pixel or a bilinear blend of the four around it (coordinates clamped to the image).
public struct Resize: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable { case nearest, linear }
    public enum Coordinates: String, Sendable, Hashable {
        case asymmetric, halfPixel, pytorchHalfPixel, alignCorners, tfHalfPixelForNearest
    }
    public enum Rounding: String, Sendable, Hashable {
        case roundPreferFloor, roundPreferCeil, floor, ceil
    }

    public var mode: Mode
    public var coordinates: Coordinates
    public var rounding: Rounding
    /// Output H and W.
    public var sizes: [Int]
    /// Output/input ratio of H and W used by the coordinate transform (ONNX uses the given
    /// scales when there are any, else sizes/input).
    public var scales: [Float]

    public init(mode: Mode, coordinates: Coordinates, rounding: Rounding, sizes: [Int], scales: [Float]) {
        self.mode = mode
        self.coordinates = coordinates
        self.rounding = rounding
        self.sizes = sizes
        self.scales = scales
    }
}

/// A transposed (fractionally strided) 2-D convolution. The full output of an input of size n is
/// (n − 1)·stride + (k − 1)·dilation + 1; `pads` crop it, `outputPadding` extends the end.
public struct ConvTranspose2D: Sendable, Hashable {
    public var kernelShape: [Int]
    public var strides: [Int]
    public var dilations: [Int]
    /// top, left, bottom, right (cropped off the full output)
    public var pads: [Int]
    public var outputPadding: [Int]
    public var group: Int

    public init(kernelShape: [Int], strides: [Int], dilations: [Int], pads: [Int], outputPadding: [Int], group: Int) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.outputPadding = outputPadding
        self.group = group
    }

    /// Output size along spatial axis `a` (0 = H, 1 = W) for input size `n`.
    public func outputSize(_ n: Int, axis a: Int) -> Int {
        (n - 1) * strides[a] + (kernelShape[a] - 1) * dilations[a] + 1 - pads[a] - pads[a + 2] + outputPadding[a]
    }
}

public struct Conv2D: Sendable, Hashable {
    public var kernelShape: [Int]
    public var strides: [Int]
    public var dilations: [Int]
    /// top, left, bottom, right
    public var pads: [Int]
    public var group: Int

    public init(kernelShape: [Int], strides: [Int], dilations: [Int], pads: [Int], group: Int) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.dilations = dilations
        self.pads = pads
        self.group = group
    }
}

public struct Pool2D: Sendable, Hashable {
    public var kernelShape: [Int]
    public var strides: [Int]
    /// top, left, bottom, right
    public var pads: [Int]
    public var countIncludePad: Bool
    public var ceilMode: Bool

    public init(kernelShape: [Int], strides: [Int], pads: [Int], countIncludePad: Bool = false, ceilMode: Bool = false) {
        self.kernelShape = kernelShape
        self.strides = strides
        self.pads = pads
        self.countIncludePad = countIncludePad
        self.ceilMode = ceilMode
    }
}
