/// A float tensor in logical row-major order (ONNX's order: NCHW for images).
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    public init(shape: [Int], data: [Float]) {
        precondition(shape.reduce(1, *) == data.count, "tensor data does not match its shape \(shape)")
        self.shape = shape
        self.data = data
    }

    public init(zeros shape: [Int]) {
        self.init(shape: shape, data: [Float](repeating: 0, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }

    /// Row-major strides of `shape`.
    public static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }

    /// The `index`-th item along the first axis (one image of a batch), keeping a leading 1.
    public func item(_ index: Int) -> Tensor {
        let per = shape.dropFirst().reduce(1, *)
        return Tensor(shape: [1] + shape.dropFirst(), data: Array(data[index * per..<(index + 1) * per]))
    }

    /// Stacks tensors of equal shape [1, ...] along the first axis.
    public static func stack(_ items: [Tensor]) -> Tensor {
        guard let first = items.first else { return Tensor(shape: [0], data: []) }
        return Tensor(shape: [items.count] + first.shape.dropFirst(), data: items.flatMap(\.data))
    }

    /// Softmax over one axis.
    public func softmax(axis: Int) -> Tensor {
        let n = shape[axis], inner = shape.dropFirst(axis + 1).reduce(1, *), outer = shape.prefix(axis).reduce(1, *)
        var out = data
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for k in 0..<n { m = max(m, out[base + k * inner]) }
                var s: Float = 0
                for k in 0..<n {
                    let e = expf(out[base + k * inner] - m)
                    out[base + k * inner] = e
                    s += e
                }
                for k in 0..<n { out[base + k * inner] /= s }
            }
        }
        return Tensor(shape: shape, data: out)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
