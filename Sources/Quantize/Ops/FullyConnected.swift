import Graph
import Kernels

/// y = x·Wᵀ + b over the last axis, per-output requantization; `rows` input rows of `inC` codes.
public struct QFullyConnected: IntegerOp {
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

    public var name: String { "FullyConnected" }

    public var parameters: OpParameters { OpParameters(int32s: [bias, multiplier, shift], bytes: weights) }

    public func macs(inputs: [QTensor], output: QTensor) -> Int { IntegerLayout.macs(outputElements: output.count, rowLength: inC) }

    public func prepare() -> [Int32] { unpack(weights, runs: outC, runLength: inC, bits: weightBits, signed: true) }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared w: [Int32], threads: Int) throws -> [Int32] {
        let x = inputs[0].codes
        var y = [Int32](repeating: 0, count: output.count)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in multiplier.withUnsafeBufferPointer { mp in shift.withUnsafeBufferPointer { tp in
                y.withUnsafeMutableBufferPointer { yp in
                    integerFullyConnected(input: xp.baseAddress!, rows: x.count / inC, inC: inC, outC: outC, weights: wp.baseAddress!,
                                          bias: bp.baseAddress!, multiplier: mp.baseAddress!, shift: tp.baseAddress!, lo: lo, hi: hi,
                                          output: yp.baseAddress!)
                }
            } } }
        } }
        return y
    }

    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let out = try b.calibrated(n.output, signed: clamp.lo < 0, bits: b.policy.activationBits(n.output))
        guard let wt = b.graph.constants[n.inputs[1]] else { throw b.fail(n, "weights are not constant") }
        let (outC, inC) = (wt.shape[0], wt.shape[1])
        let bits = b.policy.weightBits(n.name)
        var (codes, scales) = try b.weightCodes(n, weights: wt, rows: outC, bits: bits)
        let rank2 = x.shape.count == 2
        let bias = rank2 ? b.correctedBias(n, w: wt.data, codes: codes, scales: scales, rows: outC, taps: 1, inputChannelsPerGroup: inC,
                                           group: { _ in 0 }, x: x)
            : (n.inputs.count > 2 ? b.graph.constants[n.inputs[2]]?.data ?? [] : [Float](repeating: 0, count: outC))
        let (bq, m, t) = try b.biasAndRequant(n, bias: bias.isEmpty ? [Float](repeating: 0, count: outC) : bias, w: wt.data, bits: bits,
                                              codes: &codes, scales: &scales, x: x, out: out)
        let (lo, hi) = b.bounds(out, clamp: clamp)
        let fc = QFullyConnected(inC: inC, outC: outC, weightBits: bits, weights: pack(codes, runs: outC, runLength: inC, bits: bits),
                                 weightScales: scales, bias: bq, multiplier: m, shift: t, lo: lo, hi: hi)
        b.add(n, .fullyConnected(fc), inputs: [x.name], output: out)
    }
}
