import Graph
import Kernels

/// Constant padding of an NHWC image on H, W and C, filled with `value` (a code of the input's
/// grid, which the output shares). Channel padding is what residual blocks that widen do before
/// their Add.
public struct QPad: IntegerOp {
    /// [top, left, bottom, right].
    public var pads: [Int]
    /// Channels added before and after the input's.
    public var channelsBefore: Int
    public var channelsAfter: Int
    public var value: Int32

    public init(pads: [Int], channelsBefore: Int = 0, channelsAfter: Int = 0, value: Int32) {
        self.pads = pads
        self.channelsBefore = channelsBefore
        self.channelsAfter = channelsAfter
        self.value = value
    }

    public var name: String { "Pad" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (h, w, c) = (xt.shape[2], xt.shape[3], xt.shape[1])
        let (ow, oc) = (output.shape[3], output.shape[1])
        var y = [Int32](repeating: value, count: output.count)
        for iy in 0..<h { for ix in 0..<w { for ch in 0..<c {
            y[((iy + pads[0]) * ow + ix + pads[1]) * oc + ch + channelsBefore] = x[(iy * w + ix) * c + ch]
        } } }
        return y
    }

    /// `pads`: ONNX order, the begins of [N, C, H, W] then the ends.
    static func lower(_ n: Node, pads: [Int], value: Float, in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        guard x.isImage, pads.count == 8, pads[0] == 0, pads[4] == 0, pads.allSatisfy({ $0 >= 0 }) else {
            throw b.fail(n, "only non-negative padding of an image's channels, height and width is supported")
        }
        let op = QPad(pads: [pads[2], pads[3], pads[6], pads[7]], channelsBefore: pads[1], channelsAfter: pads[5], value: x.quant.quantize(value))
        b.add(n, .pad(op), inputs: [x.name], output: QTensor(name: n.output, shape: b.graph.shape(n.output), quant: x.quant))
    }
}
