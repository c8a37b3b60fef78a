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
    /// What each layer's `prepare` unpacked once (weights), by layer index.
    let prepared: [[Int32]]

    public init(model: QuantizedModel, threads: Int = 1) throws {
        self.model = model
        self.threads = max(1, threads)
        prepared = model.layers.map { $0.op.op.prepare() }
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
    /// the host-side Softmax to the output it belongs to, if the model left one). Returns one batched tensor per output.
    public func run(_ batch: Tensor, observe: ((String, Tensor) -> Void)? = nil) throws -> [Tensor] {
        var results: [[Tensor]] = []
        for b in 0..<batch.shape[0] {
            let env = try run(packedInput: quantizeInput(batch.item(b)))
            if let observe {
                for l in model.layers { if let t = model.tensors[l.output], let bytes = env[l.output] { observe(l.output, dequantize(bytes, t)) } }
            }
            results.append(try model.outputs.enumerated().map { o, name in
                guard let t = model.tensors[name], let bytes = env[name] else { throw QuantizeError(node: name, op: "Output", "not computed") }
                var y = dequantize(bytes, t)
                if let axis = model.outputSoftmaxAxis, o == model.outputSoftmaxIndex { y = softmax(y, axis: axis) }
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
        let inputs = try l.inputs.map { name -> OpInput in
            let (t, c) = try codes(name, env)
            return OpInput(tensor: t, codes: c)
        }
        let y = try l.op.op.evaluate(inputs, output: out, prepared: prepared[index], threads: threads)
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
