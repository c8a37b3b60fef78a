import Graph
import Kernels

/// DepthToSpace of an NHWC image: [C·b², H, W] → [C, H·b, W·b]; output pixel (y·b + i, x·b + j)
/// channel c is input pixel (y, x) channel (i·b + j)·C + c (DCR) or c·b² + i·b + j (CRD).
/// Pure data movement; the output shares the input's grid.
public struct QDepthToSpace: IntegerOp {
    public var blockSize: Int
    /// Column-row-depth (CRD, PixelShuffle) rather than depth-column-row (DCR).
    public var crd: Bool

    public init(blockSize: Int, crd: Bool) {
        self.blockSize = blockSize
        self.crd = crd
    }

    public var name: String { "DepthToSpace" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (ci, h, w) = (xt.shape[1], xt.shape[2], xt.shape[3])
        let b = blockSize, co = output.shape[1], ow = w * b
        var y = [Int32](repeating: 0, count: output.count)
        for iy in 0..<h { for ix in 0..<w { for i in 0..<b { for j in 0..<b { for c in 0..<co {
            let ch = crd ? c * b * b + i * b + j : (i * b + j) * co + c
            y[((iy * b + i) * ow + ix * b + j) * co + c] = x[(iy * w + ix) * ci + ch]
        } } } } }
        return y
    }

    static func lower(_ n: Node, blockSize: Int, mode: DepthToSpaceMode, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard x.isImage else { throw b.fail(n, "only the DepthToSpace of an image is supported") }
        let op = QDepthToSpace(blockSize: blockSize, crd: mode == .crd)
        b.add(n, .depthToSpace(op), inputs: [x.name], output: QTensor(name: n.output, shape: b.graph.shape(n.output), quant: x.quant))
    }
}
