import Foundation
import Graph
import Kernels

/// Runs a `QuantizedModel` with exactly the contract's integer arithmetic: the oracle the
/// generated C must match bit for bit.
///
/// Every layer unpacks its inputs from the packed layout (LSB-first, NHWC, runs byte-aligned),
/// computes in int32/int64, and packs its output; weights are unpacked once from the packed
/// blobs at preparation. A hook sees each layer's packed output (for checksums).
public final class IntegerEngine: Sendable {
    public let model: QuantizedModel
    public let threads: Int
    /// Unpacked weights per layer index (OHWI for convolutions, [out][in] for fully connected).
    let weights: [Int: [Int32]]

    public init(model: QuantizedModel, threads: Int = 1) throws {
        self.model = model
        self.threads = max(1, threads)
        var w: [Int: [Int32]] = [:]
        for (i, l) in model.layers.enumerated() {
            switch l.op {
            case .conv(let c):
                let g = c.geometry
                let cinG = g.inC / c.groups
                if c.depthwise {
                    let hwc = unpack(c.weights, runs: g.kH * g.kW, runLength: g.outC, bits: c.weightBits, signed: true)
                    var ohwi = [Int32](repeating: 0, count: hwc.count)
                    for k in 0..<(g.kH * g.kW) { for ch in 0..<g.outC { ohwi[ch * g.kH * g.kW + k] = hwc[k * g.outC + ch] } }
                    w[i] = ohwi
                } else {
                    w[i] = unpack(c.weights, runs: g.outC, runLength: g.kH * g.kW * cinG, bits: c.weightBits, signed: true)
                }
            case .fullyConnected(let f):
                w[i] = unpack(f.weights, runs: f.outC, runLength: f.inC, bits: f.weightBits, signed: true)
            default: break
            }
        }
        weights = w
    }

    /// Quantizes a float input image ([1, ...]) to packed codes.
    public func quantizeInput(_ x: Tensor) -> [UInt8] {
        guard let t = model.tensors[model.input] else { return [] }
        var codes = x.data.map { t.quant.quantize($0) }
        if t.isImage { codes = nchwToNHWC(codes, t.shape) }
        return pack(codes, runs: t.runs, runLength: t.runLength, bits: t.quant.bits)
    }

    /// Runs one image given as packed input codes; returns every tensor's packed bytes.
    public func run(packedInput: [UInt8], layerDone: ((Int, QLayer, [UInt8]) -> Void)? = nil) throws -> [String: [UInt8]] {
        var env: [String: [UInt8]] = [model.input: packedInput]
        for (i, l) in model.layers.enumerated() {
            let out = try execute(i, l, env)
            env[l.output] = out
            layerDone?(i, l, out)
        }
        return env
    }

    /// Runs a float batch: quantizes each image, runs it, dequantizes the outputs (and applies
    /// the host-side Softmax if the model left one). Returns one batched tensor per output.
    public func run(_ batch: Tensor, observe: ((String, Tensor) -> Void)? = nil) throws -> [Tensor] {
        var results: [[Tensor]] = []
        for b in 0..<batch.shape[0] {
            let env = try run(packedInput: quantizeInput(batch.item(b)))
            if let observe {
                for l in model.layers { if let t = model.tensors[l.output], let bytes = env[l.output] { observe(l.output, dequantize(bytes, t)) } }
            }
            results.append(try model.outputs.map { name in
                guard let t = model.tensors[name], let bytes = env[name] else { throw QuantizeError(node: name, op: "Output", "not computed") }
                var y = dequantize(bytes, t)
                if let axis = model.outputSoftmaxAxis { y = softmax(y, axis: axis) }
                return y
            })
        }
        return model.outputs.indices.map { o in Tensor.stack(results.map { $0[o] }) }
    }

    /// Packed codes → float tensor in logical order.
    public func dequantize(_ bytes: [UInt8], _ t: QTensor) -> Tensor {
        var codes = unpack(bytes, runs: t.runs, runLength: t.runLength, bits: t.quant.bits, signed: t.quant.signed)
        if t.isImage { codes = nhwcToNCHW(codes, t.shape) }
        return Tensor(shape: t.shape, data: codes.map { t.quant.dequantize($0) })
    }

    func codes(_ name: String, _ env: [String: [UInt8]]) throws -> (QTensor, [Int32]) {
        guard let t = model.tensors[name], let b = env[name] else { throw QuantizeError(node: name, op: "Tensor", "not available") }
        return (t, unpack(b, runs: t.runs, runLength: t.runLength, bits: t.quant.bits, signed: t.quant.signed))
    }

    func execute(_ index: Int, _ l: QLayer, _ env: [String: [UInt8]]) throws -> [UInt8] {
        guard let out = model.tensors[l.output] else { throw QuantizeError(node: l.name, op: l.op.name, "output tensor missing") }
        let (xt, x) = try codes(l.inputs[0], env)
        var y = [Int32](repeating: 0, count: out.count)
        switch l.op {
        case .conv(let c):
            let w = weights[index] ?? []
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                c.bias.withUnsafeBufferPointer { bp in c.multiplier.withUnsafeBufferPointer { mp in c.shift.withUnsafeBufferPointer { tp in
                    y.withUnsafeMutableBufferPointer { yp in
                        integerConv2d(input: xp.baseAddress!, g: c.geometry, groups: c.groups, padValue: c.padValue, weights: wp.baseAddress!,
                                      bias: bp.baseAddress!, multiplier: mp.baseAddress!, shift: tp.baseAddress!, lo: c.lo, hi: c.hi,
                                      output: yp.baseAddress!, threads: threads)
                    }
                } } }
            } }
        case .fullyConnected(let f):
            let w = weights[index] ?? []
            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
                f.bias.withUnsafeBufferPointer { bp in f.multiplier.withUnsafeBufferPointer { mp in f.shift.withUnsafeBufferPointer { tp in
                    y.withUnsafeMutableBufferPointer { yp in
                        integerFullyConnected(input: xp.baseAddress!, rows: x.count / f.inC, inC: f.inC, outC: f.outC, weights: wp.baseAddress!,
                                              bias: bp.baseAddress!, multiplier: mp.baseAddress!, shift: tp.baseAddress!, lo: f.lo, hi: f.hi,
                                              output: yp.baseAddress!)
                    }
                } } }
            } }
        case .add(let m1, let m2, let t, let lo, let hi):
            let (_, b) = try codes(l.inputs[1], env)
            let count = y.count
            x.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
                integerAdd(a: ap.baseAddress!, b: bp.baseAddress!, count: count, m1: m1, m2: m2, shift: t, lo: lo, hi: hi, output: yp.baseAddress!)
            } } }
        case .channelMul(let m, let t, let lo, let hi):
            let (_, g) = try codes(l.inputs[1], env)
            x.withUnsafeBufferPointer { xp in g.withUnsafeBufferPointer { gp in y.withUnsafeMutableBufferPointer { yp in
                integerChannelMul(x: xp.baseAddress!, gate: gp.baseAddress!, pixels: xt.runs, channels: xt.runLength, multiplier: m, shift: t,
                                  lo: lo, hi: hi, output: yp.baseAddress!)
            } } }
        case .concat(let ms, let ts, let lo, let hi):
            var offset = 0
            for (i, name) in l.inputs.enumerated() {
                let (it, codes) = try codes(name, env)
                codes.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                    integerConcatPart(x: xp.baseAddress!, runs: it.runs, inLength: it.runLength, multiplier: ms[i], shift: ts[i], lo: lo, hi: hi,
                                      output: yp.baseAddress!, outLength: out.runLength, offset: offset)
                } }
                offset += it.runLength
            }
        case .averagePool(let g, let m, let t, let lo, let hi):
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                integerAveragePool(input: xp.baseAddress!, g: g, multiplier: m, shift: t, lo: lo, hi: hi, output: yp.baseAddress!)
            } }
        case .maxPool(let g):
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in integerMaxPool(input: xp.baseAddress!, g: g, output: yp.baseAddress!) } }
        case .lookup(let table, let inputMin):
            for i in 0..<x.count { y[i] = table[Int(x[i] - inputMin)] }
        case .pad(let pads, let value):
            let (h, w, c) = (xt.shape[2], xt.shape[3], xt.shape[1])
            let ow = out.shape[3]
            for i in 0..<y.count { y[i] = value }
            for iy in 0..<h { for ix in 0..<w { for ch in 0..<c {
                y[((iy + pads[0]) * ow + ix + pads[1]) * c + ch] = x[(iy * w + ix) * c + ch]
            } } }
        case .reshape(let fromNHWC):
            y = fromNHWC ? nhwcToNCHW(x, xt.shape) : x
        }
        return pack(y, runs: out.runs, runLength: out.runLength, bits: out.quant.bits)
    }
}

func nchwToNHWC(_ v: [Int32], _ s: [Int]) -> [Int32] {
    let (c, h, w) = (s[1], s[2], s[3])
    var o = v
    for ch in 0..<c { for y in 0..<h { for x in 0..<w { o[(y * w + x) * c + ch] = v[(ch * h + y) * w + x] } } }
    return o
}

func nhwcToNCHW(_ v: [Int32], _ s: [Int]) -> [Int32] {
    let (c, h, w) = (s[1], s[2], s[3])
    var o = v
    for ch in 0..<c { for y in 0..<h { for x in 0..<w { o[(ch * h + y) * w + x] = v[(y * w + x) * c + ch] } } }
    return o
}

/// Softmax over one axis of a logical tensor.
public func softmax(_ t: Tensor, axis: Int) -> Tensor { t.softmax(axis: axis) }
