import Graph
import Kernels

/// Nearest-neighbour upsampling of an NHWC image by whole factors: output pixel (y, x) is input
/// pixel (y / factorH, x / factorW). Pure data movement; the output shares the input's grid.
/// The lowering checks that the Resize's coordinate transform and rounding read exactly these
/// pixels (true of asymmetric, half-pixel and TF half-pixel modes at whole factors).
public struct QResizeNearest: IntegerOp {
    public var factorH: Int
    public var factorW: Int

    public init(factorH: Int, factorW: Int) {
        self.factorH = factorH
        self.factorW = factorW
    }

    public var name: String { "ResizeNearest" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (w, c) = (xt.shape[3], xt.shape[1])
        let (oh, ow) = (output.shape[2], output.shape[3])
        var y = [Int32](repeating: 0, count: output.count)
        for oy in 0..<oh { for ox in 0..<ow { for ch in 0..<c {
            y[(oy * ow + ox) * c + ch] = x[((oy / factorH) * w + ox / factorW) * c + ch]
        } } }
        return y
    }

    static func lower(_ n: Node, _ r: Resize, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let out = b.graph.shape(n.output)
        guard r.mode == .nearest, x.isImage, out.count == 4 else { throw b.fail(n, "only the nearest resizing of an image is supported here") }
        let (ih, iw, oh, ow) = (x.shape[2], x.shape[3], out[2], out[3])
        guard oh % ih == 0, ow % iw == 0 else {
            throw b.fail(n, "resizes \(ih)×\(iw) to \(oh)×\(ow); only whole upsampling factors are supported as integer")
        }
        let (fh, fw) = (oh / ih, ow / iw)
        guard r.nearestSources(axis: 0, out: oh, in: ih) == (0..<oh).map({ $0 / fh }),
              r.nearestSources(axis: 1, out: ow, in: iw) == (0..<ow).map({ $0 / fw }) else {
            throw b.fail(n, "coordinate mode \(r.coordinates.rawValue) with rounding \(r.rounding.rawValue) does not repeat each pixel \(fh)×\(fw) times; not supported as integer")
        }
        b.add(n, .resizeNearest(QResizeNearest(factorH: fh, factorW: fw)), inputs: [x.name], output: QTensor(name: n.output, shape: out, quant: x.quant))
    }
}
