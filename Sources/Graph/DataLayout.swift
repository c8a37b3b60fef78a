/// The order of image axes in data files. Inside, the IR always uses ONNX's logical NCHW
/// shapes; a TFLite model's rank-4 inputs and outputs are NHWC, so its data is transposed on
/// the way in and out.
public enum DataLayout: String, Sendable, Codable {
    case nchw, nhwc
}

extension Graph {
    /// The shape data files use for `tensor`.
    public func externalShape(_ tensor: String) -> [Int] {
        let s = shape(tensor)
        return layout == .nhwc && s.count == 4 ? [s[0], s[2], s[3], s[1]] : s
    }

    /// A batch in the external layout → the IR's logical layout.
    public func toLogical(_ t: Tensor) -> Tensor {
        guard layout == .nhwc, t.shape.count == 4 else { return t }
        return t.transposed([0, 3, 1, 2])
    }

    /// A batch in the IR's logical layout → the external layout.
    public func toExternal(_ t: Tensor) -> Tensor {
        guard layout == .nhwc, t.shape.count == 4 else { return t }
        return t.transposed([0, 2, 3, 1])
    }
}
