import Graph
import Kernels

/// The same codes under a new shape; `fromNHWC` reorders an image to logical (NCHW) order
/// first, as ONNX flattens it.
public struct QReshape: IntegerOp {
    public var fromNHWC: Bool

    public init(fromNHWC: Bool) { self.fromNHWC = fromNHWC }

    public var name: String { "Reshape" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        fromNHWC ? nhwcToNCHW(inputs[0].codes, inputs[0].tensor.shape) : inputs[0].codes
    }

    /// A Transpose of an image to NHWC ([0, 2, 3, 1]) read only by Reshapes, as detector heads
    /// are exported: the image is already stored NHWC, so this is a re-view as [1, H·W, C]
    /// (`MemoryModel.storedShape` says the same), and the Reshapes after it keep that order.
    static func lowerTranspose(_ n: Node, perm: [Int], in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let readers = b.graph.consumers()[n.output] ?? []
        guard x.isImage, perm == [0, 2, 3, 1], !readers.isEmpty,
              readers.allSatisfy({ if case .reshape(let s) = b.graph.nodes[$0].op { return s.count < 4 }; return false }) else {
            throw b.fail(n, "only a Transpose of an image to NHWC ([0, 2, 3, 1]) followed by Reshapes into [N, K] or [1, N, K] is supported")
        }
        b.add(n, .reshape(QReshape(fromNHWC: false)), inputs: [x.name],
              output: QTensor(name: n.output, shape: [1, x.shape[2] * x.shape[3], x.shape[1]], quant: x.quant))
    }

    static func lower(_ n: Node, shape: [Int], in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let layoutFree = !x.isImage || x.shape[2] * x.shape[3] == 1 || x.shape[1] == 1
        guard shape.count != 4 || layoutFree else { throw b.fail(n, "a reshape between two images of different layout is not supported") }
        b.add(n, .reshape(QReshape(fromNHWC: !layoutFree)), inputs: [x.name], output: QTensor(name: n.output, shape: shape, quant: x.quant))
    }
}
