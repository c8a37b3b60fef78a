import Quantize

/// The C emitter of one integer op: the call (and any static parameter struct) that runs it on
/// the packed arena. One conformance per op in `Codegen/Ops/Emit+Op.swift`; the C side is
/// `pipeline/runtime/nnk_op.c`.
protocol CKernelCall {
    func emit(_ layer: QLayer, _ c: EmitContext) throws -> CKernelCode
}

/// Generated C of one layer: file-scope declarations and the statements inside `_run`.
struct CKernelCode {
    var declarations = ""
    var statements = ""
}

/// What an op's emitter reads: the model's tensors, where each sits in the arena, and where the
/// layer's parameters sit in the blob.
struct EmitContext {
    let model: QuantizedModel
    let offsets: [String: Int]
    let index: Int
    /// Blob offsets of this layer's int32 arrays (bias, multiplier, shift for weighted layers).
    let int32Offsets: [Int]
    /// Blob offset of this layer's byte array (packed weights, lookup table).
    let byteOffset: Int?

    func tensor(_ name: String) throws -> QTensor {
        guard let t = model.tensors[name] else { throw CodegenError("tensor '\(name)' is not in the quantized model") }
        return t
    }

    /// The tensor's address in the arena, as a C expression.
    func arena(_ t: QTensor) -> String { "(nn_arena + \(offsets[t.name] ?? 0))" }

    /// 1 or 0: whether a tensor is signed.
    func signed(_ t: QTensor) -> Int { t.quant.signed ? 1 : 0 }

    /// `nn_params + offset` of this layer's byte array.
    func bytes() throws -> String {
        guard let o = byteOffset else { throw CodegenError("layer \(index) has no byte parameters") }
        return "nn_params + \(o)"
    }

    /// `P32(offset)` of this layer's k-th int32 array.
    func int32s(_ k: Int) throws -> String {
        guard k < int32Offsets.count else { throw CodegenError("layer \(index) has no int32 array \(k)") }
        return "P32(\(int32Offsets[k]))"
    }
}
