import Graph
import Kernels

/// Max pooling; padded positions are skipped. Codes compare directly: the output shares the
/// input's quantization.
public struct QMaxPool: IntegerOp {
    public var geometry: WindowGeometry

    public init(geometry: WindowGeometry) { self.geometry = geometry }

    public var name: String { "MaxPool" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        var y = [Int32](repeating: 0, count: output.count)
        inputs[0].codes.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            integerMaxPool(input: xp.baseAddress!, g: geometry, output: yp.baseAddress!)
        } }
        return y
    }

    static func lower(_ n: Node, _ p: Pool2D, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let o = b.graph.shape(n.output)
        let geo = WindowGeometry(inH: x.shape[2], inW: x.shape[3], inC: x.shape[1], outH: o[2], outW: o[3], outC: o[1],
                                 kH: p.kernelShape[0], kW: p.kernelShape[1], strideH: p.strides[0], strideW: p.strides[1],
                                 padTop: p.pads[0], padLeft: p.pads[1])
        b.add(n, .maxPool(QMaxPool(geometry: geo)), inputs: [x.name], output: QTensor(name: n.output, shape: o, quant: x.quant))
    }
}
