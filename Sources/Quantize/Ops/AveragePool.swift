import Graph
import Kernels

/// Average pooling over full windows (no padding): y = requant(Σ window, M, T) with
/// M/2^T = s_in / (s_out · window area). Global average pooling (and ReduceMean over H and W) is
/// the H×W window.
public struct QAveragePool: IntegerOp {
    public var geometry: WindowGeometry
    public var multiplier: Int32
    public var shift: Int32
    public var lo: Int32
    public var hi: Int32

    public init(geometry: WindowGeometry, multiplier: Int32, shift: Int32, lo: Int32, hi: Int32) {
        self.geometry = geometry
        self.multiplier = multiplier
        self.shift = shift
        self.lo = lo
        self.hi = hi
    }

    public var name: String { "AveragePool" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        inputs[0].codes.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            integerAveragePool(input: xp.baseAddress!, g: geometry, multiplier: multiplier, shift: shift, lo: lo, hi: hi, output: yp.baseAddress!)
        } }
        return y
    }

    /// Lowers AveragePool, GlobalAveragePool and ReduceMean over H and W.
    static func lower(_ n: Node, clamp: Clamp, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard x.isImage, x.quant.zeroPoint == 0 else { throw b.fail(n, "pooling needs an image input without zero-point") }
        var geo: WindowGeometry
        let o = b.graph.shape(n.output)
        switch n.op {
        case .averagePool(let p):
            guard p.pads == [0, 0, 0, 0] else { throw b.fail(n, "padded average pooling has no integer implementation in tinympq") }
            geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: o[1],
                                 kH: p.kernelShape[0], kW: p.kernelShape[1], strideH: p.strides[0], strideW: p.strides[1], padTop: 0, padLeft: 0)
        case .reduceMean(let axes, _) where axes != [2, 3]:
            throw b.fail(n, "ReduceMean over axes \(axes) has no integer implementation (only over H and W)")
        default:
            geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: 1, outW: 1, outC: x.shape[1],
                                 kH: x.shape[2], kW: x.shape[3], strideH: 1, strideW: 1, padTop: 0, padLeft: 0)
        }
        let out = try b.calibrated(n.output, signed: x.quant.signed, bits: b.policy.activationBits(n.output))
        let area = Double(geo.kH * geo.kW)
        let m = try b.multiplier(n, x.quant.scale / (out.quant.scale * area))
        let (lo, hi) = b.bounds(out, clamp: clamp)
        b.add(n, .averagePool(QAveragePool(geometry: geo, multiplier: m.multiplier, shift: m.shift, lo: lo, hi: hi)), inputs: [x.name], output: out)
    }
}
