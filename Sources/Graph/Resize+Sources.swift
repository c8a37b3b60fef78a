/// Where a Resize reads: the coordinate transform and nearest rounding of ONNX Resize (and the
/// TFLite resizes imported as it), shared by the float engine and the integer lowering.
extension Resize {
    /// The input coordinate of output pixel `o` along an axis of `n` input and `out` output pixels.
    public func sourceCoordinate(_ o: Int, out: Int, in n: Int, scale: Float) -> Float {
        let v = Float(o)
        switch coordinates {
        case .asymmetric: return v / scale
        case .halfPixel: return (v + 0.5) / scale - 0.5
        case .pytorchHalfPixel: return out > 1 ? (v + 0.5) / scale - 0.5 : 0
        case .alignCorners: return out > 1 ? v * Float(n - 1) / Float(out - 1) : 0
        case .tfHalfPixelForNearest: return (v + 0.5) / scale
        }
    }

    /// The input pixel a nearest resize reads for coordinate `v`, clamped to [0, limit).
    public func nearest(_ v: Float, limit: Int) -> Int {
        let i: Float
        switch rounding {
        case .floor: i = v.rounded(.down)
        case .ceil: i = v.rounded(.up)
        case .roundPreferFloor: i = v == v.rounded(.down) + 0.5 ? v.rounded(.down) : v.rounded()
        case .roundPreferCeil: i = v == v.rounded(.down) + 0.5 ? v.rounded(.up) : v.rounded()
        }
        return min(max(Int(i), 0), limit - 1)
    }

    /// The input pixels a nearest resize reads along H (`axis` 0) or W (1).
    public func nearestSources(axis: Int, out: Int, in n: Int) -> [Int] {
        (0..<out).map { nearest(sourceCoordinate($0, out: out, in: n, scale: scales[axis]), limit: n) }
    }
}
