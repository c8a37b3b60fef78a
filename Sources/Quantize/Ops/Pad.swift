import Graph
import Kernels

/// Spatial constant padding of an NHWC image, [top, left, bottom, right], filled with `value`
/// (a code of the input's grid, which the output shares).
public struct QPad: IntegerOp {
    public var pads: [Int]
    public var value: Int32

    public init(pads: [Int], value: Int32) {
        self.pads = pads
        self.value = value
    }

    public var name: String { "Pad" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (h, w, c) = (xt.shape[2], xt.shape[3], xt.shape[1])
        let ow = output.shape[3]
        var y = [Int32](repeating: value, count: output.count)
        for iy in 0..<h { for ix in 0..<w { for ch in 0..<c {
            y[((iy + pads[0]) * ow + ix + pads[1]) * c + ch] = x[(iy * w + ix) * c + ch]
        } } }
        return y
    }

    static func lower(_ n: Node, pads: [Int], value: Float, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard x.isImage, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0 else { throw b.fail(n, "only spatial padding of an image is supported") }
        b.add(n, .pad(QPad(pads: [pads[2], pads[3], pads[6], pads[7]], value: x.quant.quantize(value))), inputs: [x.name],
              output: QTensor(name: n.output, shape: b.graph.shape(n.output), quant: x.quant))
    }
}
