import Graph
import Kernels

/// One integer op, after tflite-micro's kernel layout: its lowering from a graph node computes
/// the op data once (shapes, padding, multipliers, clamp bounds, packed weights: the struct that
/// conforms), `parameters` says what it stores in FLASH, and `evaluate` is the reference
/// arithmetic the generated C must match bit for bit. Each op lives in one file of
/// `Quantize/Ops/`; its C emitter in `Codegen/Ops/`, its kernel in `pipeline/runtime/nnk_*.c`.
///
/// Adding an op: a struct conforming here (with a `lower` from its graph node), a case in `QOp`
/// and its line in `QOp.op`, a line in `Builder.lower` (Quantizer.swift) and, if the graph op is
/// new, its kind in `Graph.integerLayers()`.
public protocol IntegerOp: Codable, Sendable {
    /// The name shown in reports and layer comments.
    var name: String { get }
    /// What the op stores in the parameter blob, in blob order.
    var parameters: OpParameters { get }
    /// Multiply-accumulates of one inference (0 for data movement).
    func macs(inputs: [QTensor], output: QTensor) -> Int
    /// Unpacks what `evaluate` reads on every call (weights), once per engine.
    func prepare() -> [Int32]
    /// The reference arithmetic: the inputs' codes (unpacked, NHWC for images) → the output's.
    func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32]
}

extension IntegerOp {
    public var parameters: OpParameters { OpParameters() }
    public func macs(inputs: [QTensor], output: QTensor) -> Int { 0 }
    public func prepare() -> [Int32] { [] }
}

/// One input of an op at evaluation: its tensor and its codes (unpacked, NHWC for images).
public struct OpInput: Sendable {
    public var tensor: QTensor
    public var codes: [Int32]

    public init(tensor: QTensor, codes: [Int32]) {
        self.tensor = tensor
        self.codes = codes
    }
}

/// What one op stores in FLASH. The blob holds every op's int32 arrays first (4-byte aligned),
/// then every op's byte arrays (packed weights, lookup tables), each group in layer order.
public struct OpParameters: Sendable {
    /// Per-channel int32 arrays (bias, multiplier, shift).
    public var int32s: [[Int32]] = []
    /// Packed weights or a lookup table.
    public var bytes: [UInt8]? = nil

    public init(int32s: [[Int32]] = [], bytes: [UInt8]? = nil) {
        self.int32s = int32s
        self.bytes = bytes
    }

    public var byteCount: Int { int32s.reduce(0) { $0 + 4 * $1.count } + (bytes?.count ?? 0) }
}

/// The integer ops: the closed, serialisable list (quantized.json), and the table from each
/// case to its implementation.
public enum QOp: Codable, Sendable {
    case conv(QConv)
    case fullyConnected(QFullyConnected)
    case add(QAdd)
    case channelMul(QChannelMul)
    case concat(QConcat)
    case averagePool(QAveragePool)
    case maxPool(QMaxPool)
    case lookup(QLookup)
    case pad(QPad)
    case reshape(QReshape)
    case channelAffine(QChannelAffine)
    case prelu(QPReLU)
    case resizeNearest(QResizeNearest)
    case depthToSpace(QDepthToSpace)
    case slice(QSlice)
    case resizeBilinear(QResizeBilinear)

    /// The op's implementation: the one switch over the cases.
    public var op: any IntegerOp {
        switch self {
        case .conv(let o): return o
        case .fullyConnected(let o): return o
        case .add(let o): return o
        case .channelMul(let o): return o
        case .concat(let o): return o
        case .averagePool(let o): return o
        case .maxPool(let o): return o
        case .lookup(let o): return o
        case .pad(let o): return o
        case .reshape(let o): return o
        case .channelAffine(let o): return o
        case .prelu(let o): return o
        case .resizeNearest(let o): return o
        case .depthToSpace(let o): return o
        case .slice(let o): return o
        case .resizeBilinear(let o): return o
        }
    }

    public var name: String { op.name }
    /// FLASH bytes of this op's parameters.
    public var parameterBytes: Int { op.parameters.byteCount }
}
