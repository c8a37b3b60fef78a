/// Σ (clamp(round(x/s), qmin, qmax)·s − x)²: the squared error of quantizing `x` with scale `s`,
/// the inner loop of every clipping-range search.
public func quantizationError(_ x: UnsafeBufferPointer<Float>, scale s: Float, qmin: Float, qmax: Float) -> Float {
    let inv = 1 / s
    var err: Float = 0
    for v in x {
        let q = Swift.min(Swift.max((v * inv).rounded(.toNearestOrAwayFromZero), qmin), qmax)
        let d = q * s - v
        err += d * d
    }
    return err
}

/// Quantize-dequantize in place (fake quantization) with scale `s` and code range [qmin, qmax].
public func fakeQuantize(_ x: UnsafeMutableBufferPointer<Float>, scale s: Float, qmin: Float, qmax: Float) {
    let inv = 1 / s
    for i in 0..<x.count {
        x[i] = Swift.min(Swift.max((x[i] * inv).rounded(.toNearestOrAwayFromZero), qmin), qmax) * s
    }
}
