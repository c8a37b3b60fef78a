import Kernels

/// An activation inside the float engine: logical shape plus the physical layout of its data.
/// Rank-4 tensors made by convolutions and pools are kept NHWC (channel innermost), which is
/// what the kernels want; everything else is logical row-major.
struct Value {
    var shape: [Int]
    var nhwc: Bool
    var data: [Float]

    init(shape: [Int], nhwc: Bool, data: [Float]) {
        self.shape = shape
        self.nhwc = nhwc && shape.count == 4
        self.data = data
    }

    init(logical t: Tensor) { self.init(shape: t.shape, nhwc: false, data: t.data) }

    /// Data is identical in both layouts when H·W == 1 or C == 1.
    private var layoutFree: Bool { shape.count != 4 || shape[1] == 1 || shape[2] * shape[3] == 1 }

    func toLogical() -> Value {
        guard nhwc, !layoutFree else { return Value(shape: shape, nhwc: false, data: data) }
        return Value(shape: shape, nhwc: false, data: transposedImages(toNHWC: false))
    }

    func toNHWC() -> Value {
        guard shape.count == 4 else { return self }
        guard !nhwc, !layoutFree else { return Value(shape: shape, nhwc: true, data: data) }
        return Value(shape: shape, nhwc: true, data: transposedImages(toNHWC: true))
    }

    /// The data of a rank-4 value in the other layout, image by image.
    private func transposedImages(toNHWC: Bool) -> [Float] {
        let (c, pixels) = (shape[1], shape[2] * shape[3])
        let per = c * pixels
        return [Float](unsafeUninitializedCapacity: data.count) { out, n in
            data.withUnsafeBufferPointer { src in
                for b in 0..<shape[0] {
                    transposeImage(src.baseAddress! + b * per, channels: c, pixels: pixels, toNHWC: toNHWC, out.baseAddress! + b * per)
                }
            }
            n = data.count
        }
    }

    var tensor: Tensor { Tensor(shape: shape, data: toLogical().data) }

    /// Strides of each logical axis into `data`.
    var strides: [Int] {
        if nhwc {
            let (c, w) = (shape[1], shape[3])
            return [shape[2] * w * c, 1, w * c, c]
        }
        return Tensor.strides(shape)
    }
}

extension Tensor {
    /// The tensor with its axes permuted: output axis i is input axis perm[i].
    public func transposed(_ perm: [Int]) -> Tensor {
        Tensor(shape: perm.map { shape[$0] }, data: transposeData(data, shape: shape, perm: perm))
    }
}

/// Row-major transpose: output axis i is input axis perm[i].
func transposeData(_ data: [Float], shape: [Int], perm: [Int]) -> [Float] {
    let inStrides = Tensor.strides(shape)
    let outShape = perm.map { shape[$0] }
    let src = perm.map { inStrides[$0] }
    return gather(count: data.count, shape: outShape, strides: src, from: data)
}

/// Reads `from` at strided offsets, iterating `shape` row-major.
func gather(count: Int, shape: [Int], strides: [Int], from: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: count)
    guard count > 0 else { return out }
    let r = shape.count
    var idx = [Int](repeating: 0, count: r)
    var off = 0
    from.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<count {
                dst[i] = src[off]
                var a = r - 1
                while a >= 0 {
                    idx[a] += 1
                    off += strides[a]
                    if idx[a] < shape[a] { break }
                    off -= strides[a] * shape[a]
                    idx[a] = 0
                    a -= 1
                }
            }
        }
    }
    return out
}
