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
    /// Element-wise with NumPy broadcasting; either input may be a constant.
    case add
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
        case .add: return "Add"
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
        }
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
