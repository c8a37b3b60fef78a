import Quantize

/// The `.nn_params` blob: every layer's int32 arrays first (4-byte aligned, little-endian), then
/// every layer's byte arrays (packed weights, lookup tables), each group in layer order. Its
/// size is the quantized model's `parameterBytes` and the memory model's FLASH.
struct ParameterBlob {
    var bytes: [UInt8] = []
    /// Per layer: the blob offset of each of its int32 arrays.
    var int32Offsets: [[Int]] = []
    /// Per layer: the blob offset of its byte array, if it has one.
    var byteOffsets: [Int?] = []

    init(_ model: QuantizedModel) {
        let params = model.layers.map(\.op.op.parameters)
        var ints: [Int32] = []
        for p in params {
            var at: [Int] = []
            for a in p.int32s {
                at.append(ints.count * 4)
                ints += a
            }
            int32Offsets.append(at)
        }
        bytes.reserveCapacity(ints.count * 4 + params.reduce(0) { $0 + ($1.bytes?.count ?? 0) })
        for v in ints { for s in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> UInt32(8 * s))) } }
        for p in params {
            if let b = p.bytes {
                byteOffsets.append(bytes.count)
                bytes += b
            } else {
                byteOffsets.append(nil)
            }
        }
    }
}
