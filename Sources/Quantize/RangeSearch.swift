import Kernels

/// Clipping ranges chosen to minimise quantization error, not only max-abs: a grid search over
/// fractions of the largest magnitude, scoring the squared error of quantize-dequantize.
enum RangeSearch {
    /// Best clip α for symmetric signed weights on the grid [−(2^(b−1)−1), 2^(b−1)−1]·α/qmax.
    static func weightClip(_ w: ArraySlice<Float>, bits: Int) -> Float {
        let maxAbs = w.reduce(Float(0)) { Swift.max($0, abs($1)) }
        guard maxAbs > 0 else { return 0 }
        let qmax = Float((1 << (bits - 1)) - 1)
        return w.withUnsafeBufferPointer { buf in
            best(maxAbs, fractions: stride(from: 0.3, through: 1.0, by: 0.02)) { alpha in
                quantizationError(buf, scale: alpha / qmax, qmin: -qmax, qmax: qmax)
            }
        }
    }

    /// Best clip α for an activation quantized to `bits`, unsigned on [0, α] or signed on
    /// [−α, α], scored on calibration samples.
    static func activationClip(_ x: [Float], bits: Int, signed: Bool, maxAbs: Float) -> Float {
        guard maxAbs > 0, !x.isEmpty else { return Swift.max(maxAbs, 1e-6) }
        let qmax = Float(signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1)
        let qmin = signed ? -qmax - 1 : 0
        return x.withUnsafeBufferPointer { buf in
            best(maxAbs, fractions: stride(from: 0.1, through: 1.0, by: 0.01)) { alpha in
                quantizationError(buf, scale: alpha / qmax, qmin: qmin, qmax: qmax)
            }
        }
    }

    private static func best(_ maxAbs: Float, fractions: StrideThrough<Double>, _ err: (Float) -> Float) -> Float {
        var bestAlpha = maxAbs, bestErr = Float.infinity
        for f in fractions {
            let a = maxAbs * Float(f)
            let e = err(a)
            if e < bestErr {
                bestErr = e
                bestAlpha = a
            }
        }
        return bestAlpha
    }
}
