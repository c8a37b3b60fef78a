import Graph
import Kernels

/// Bilinear resizing of an NHWC image in integers. Along each axis the source coordinate of
/// output pixel o is the rational (o·a + b) / d (asymmetric: a = in, b = 0, d = out; half-pixel:
/// a = 2·in, b = in − out, d = 2·out; align-corners: a = in − 1, b = 0, d = out − 1), clamped to
/// [0, n − 1]; its integer part picks the two taps and the remainder gives the weight
/// w = round(rem·2^10 / d). The output, on the input's grid, is the four-tap sum
///   y = ((2^10 − wy)·((2^10 − wx)·x00 + wx·x01) + wy·((2^10 − wx)·x10 + wx·x11) + 2^19) >> 20.
/// C computes the same integers (no tables in FLASH).
public struct QResizeBilinear: IntegerOp {
    /// (a, b, d) of H and of W.
    public var rowMap: [Int]
    public var columnMap: [Int]

    public init(rowMap: [Int], columnMap: [Int]) {
        self.rowMap = rowMap
        self.columnMap = columnMap
    }

    public var name: String { "ResizeBilinear" }

    /// Bits of a tap weight.
    static let weightBits = 10

    /// Lower tap, upper tap and weight of the upper tap for output pixel o of an axis of n inputs.
    static func taps(_ o: Int, _ map: [Int], _ n: Int) -> (Int, Int, Int) {
        let d = map[2]
        let num = min(max(o * map[0] + map[1], 0), (n - 1) * d)
        let lo = num / d, rem = num - lo * d
        return (lo, min(lo + 1, n - 1), ((rem << weightBits) + d / 2) / d)
    }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (c, ih, iw) = (xt.shape[1], xt.shape[2], xt.shape[3])
        let (oh, ow) = (output.shape[2], output.shape[3])
        let one = 1 << Self.weightBits
        var y = [Int32](repeating: 0, count: output.count)
        for oy in 0..<oh {
            let (y0, y1, wy) = Self.taps(oy, rowMap, ih)
            for ox in 0..<ow {
                let (x0, x1, wx) = Self.taps(ox, columnMap, iw)
                for ch in 0..<c {
                    let top = (one - wx) * Int(x[(y0 * iw + x0) * c + ch]) + wx * Int(x[(y0 * iw + x1) * c + ch])
                    let bottom = (one - wx) * Int(x[(y1 * iw + x0) * c + ch]) + wx * Int(x[(y1 * iw + x1) * c + ch])
                    y[(oy * ow + ox) * c + ch] = Int32(((one - wy) * top + wy * bottom + (1 << (2 * Self.weightBits - 1))) >> (2 * Self.weightBits))
                }
            }
        }
        return y
    }

    /// (a, b, d) of one axis, or nil when the coordinate transform is not such a rational map.
    static func map(_ r: Resize, axis: Int, in n: Int, out: Int) -> [Int]? {
        // The transform must use the sizes' ratio (ONNX may give other scales).
        guard abs(r.scales[axis] - Float(out) / Float(n)) <= 1e-6 * r.scales[axis] else { return nil }
        switch r.coordinates {
        case .asymmetric: return [n, 0, out]
        case .halfPixel: return [2 * n, n - out, 2 * out]
        case .pytorchHalfPixel: return out > 1 ? [2 * n, n - out, 2 * out] : [0, 0, 1]
        case .alignCorners: return out > 1 ? [n - 1, 0, out - 1] : [0, 0, 1]
        case .tfHalfPixelForNearest: return nil
        }
    }

    static func lower(_ n: Node, _ r: Resize, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let out = b.graph.shape(n.output)
        guard x.isImage, out.count == 4, let rows = map(r, axis: 0, in: x.shape[2], out: out[2]), let cols = map(r, axis: 1, in: x.shape[3], out: out[3]) else {
            throw b.fail(n, "bilinear resizing with coordinate mode \(r.coordinates.rawValue) and scales \(r.scales) is not supported as integer")
        }
        b.add(n, .resizeBilinear(QResizeBilinear(rowMap: rows, columnMap: cols)), inputs: [x.name], output: QTensor(name: n.output, shape: out, quant: x.quant))
    }
}
