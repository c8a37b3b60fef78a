import Graph
import Kernels

/// A convolution of any group count (standard, depthwise, pointwise) with per-output-channel
/// weights and requantization. Input and output NHWC.
public struct QConv: IntegerOp {
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

    public var name: String {
        depthwise ? "DepthwiseConv" : (geometry.kH == 1 && geometry.kW == 1 && groups == 1 ? "PointwiseConv" : "Conv")
    }

    public var weightCount: Int { geometry.outC * geometry.kH * geometry.kW * (geometry.inC / groups) }

    /// Weight rows as stored (see `IntegerLayout.convWeightRows`).
    public var weightRows: (rows: Int, rowLength: Int) {
        IntegerLayout.convWeightRows(outputChannels: geometry.outC, inputChannelsPerGroup: geometry.inC / groups,
                                     kernelTaps: geometry.kH * geometry.kW, depthwise: depthwise)
    }

    public var parameters: OpParameters { OpParameters(int32s: [bias, multiplier, shift], bytes: weights) }

    public func macs(inputs: [QTensor], output: QTensor) -> Int {
        IntegerLayout.macs(outputElements: geometry.outH * geometry.outW * geometry.outC, rowLength: geometry.kH * geometry.kW * (geometry.inC / groups))
    }

    /// The weights unpacked to OHWI (depthwise too).
    public func prepare() -> [Int32] {
        let g = geometry, (rows, len) = weightRows
        let stored = unpack(weights, runs: rows, runLength: len, bits: weightBits, signed: true)
        guard depthwise else { return stored }
        var ohwi = [Int32](repeating: 0, count: stored.count)
        for k in 0..<(g.kH * g.kW) { for ch in 0..<g.outC { ohwi[ch * g.kH * g.kW + k] = stored[k * g.outC + ch] } }
        return ohwi
    }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared w: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        inputs[0].codes.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
            bias.withUnsafeBufferPointer { bp in multiplier.withUnsafeBufferPointer { mp in shift.withUnsafeBufferPointer { tp in
                y.withUnsafeMutableBufferPointer { yp in
                    integerConv2d(input: xp.baseAddress!, g: geometry, groups: groups, padValue: padValue, weights: wp.baseAddress!,
                                  bias: bp.baseAddress!, multiplier: mp.baseAddress!, shift: tp.baseAddress!, lo: lo, hi: hi,
                                  output: yp.baseAddress!, threads: threads)
                }
            } } }
        } }
        return y
    }

    /// Lowers a Conv node: per-channel weight codes, bias correction, the packed layout.
    static func lower(_ n: Node, _ c: Conv2D, clamp: Clamp, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let out = try b.calibrated(n.output, signed: clamp.lo < 0, bits: b.policy.activationBits(n.output))
        guard let wt = b.graph.constants[n.inputs[1]] else { throw b.fail(n, "weights are not constant") }
        let (cout, cinG, kh, kw) = (wt.shape[0], wt.shape[1], wt.shape[2], wt.shape[3])
        let bits = b.policy.weightBits(n.name)
        var (codes, scales) = try b.weightCodes(n, weights: wt, rows: cout, bits: bits)  // OIHW rows
        let coutG = cout / c.group
        let bias = b.correctedBias(n, w: wt.data, codes: codes, scales: scales, rows: cout, taps: kh * kw, inputChannelsPerGroup: cinG,
                                   group: { $0 / coutG }, x: x)
        let (bq, m, t) = try b.biasAndRequant(n, bias: bias, w: wt.data, bits: bits, codes: &codes, scales: &scales, x: x, out: out)
        let o = out.shape
        let geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: cout, kH: kh, kW: kw,
                                 strideH: c.strides[0], strideW: c.strides[1], dilationH: c.dilations[0], dilationW: c.dilations[1],
                                 padTop: c.pads[0], padLeft: c.pads[1])
        let depthwise = IntegerLayout.isDepthwise(groups: c.group, inputChannels: x.shape[1], outputChannels: cout)
        // OIHW codes → the stored layout.
        var ordered = [Int32](repeating: 0, count: codes.count)
        if depthwise {
            for ch in 0..<cout { for ky in 0..<kh { for kx in 0..<kw { ordered[(ky * kw + kx) * cout + ch] = codes[(ch * kh + ky) * kw + kx] } } }
        } else {
            for co in 0..<cout { for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                ordered[((co * kh + ky) * kw + kx) * cinG + ci] = codes[((co * cinG + ci) * kh + ky) * kw + kx]
            } } } }
        }
        let (rows, len) = IntegerLayout.convWeightRows(outputChannels: cout, inputChannelsPerGroup: cinG, kernelTaps: kh * kw, depthwise: depthwise)
        let (lo, hi) = b.bounds(out, clamp: clamp)
        let conv = QConv(geometry: geo, groups: c.group, depthwise: depthwise, weightBits: bits, weights: pack(ordered, runs: rows, runLength: len, bits: bits),
                         weightScales: scales, bias: bq, multiplier: m, shift: t, lo: lo, hi: hi, padValue: Int32(x.quant.zeroPoint))
        b.add(n, .conv(conv), inputs: [x.name], output: out)
    }
}
