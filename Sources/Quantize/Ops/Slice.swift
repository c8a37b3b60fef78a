import Graph
import Kernels

/// Slice of an NHWC image on C, H and W (starts and positive steps; exporters write channel
/// splits and crops this way): output (y, x, c) is input (startH + y·stepH, startW + x·stepW,
/// startC + c·stepC). Pure data movement; the output shares the input's grid.
public struct QSlice: IntegerOp {
    /// [C, H, W] starts and steps.
    public var starts: [Int]
    public var steps: [Int]

    public init(starts: [Int], steps: [Int]) {
        self.starts = starts
        self.steps = steps
    }

    public var name: String { "Slice" }

    public func evaluate(_ inputs: [OpInput], output: QTensor, prepared: [Int32], threads: Int) throws -> [Int32] {
        let xt = inputs[0].tensor, x = inputs[0].codes
        let (w, c) = (xt.shape[3], xt.shape[1])
        let (oc, oh, ow) = (output.shape[1], output.shape[2], output.shape[3])
        var y = [Int32](repeating: 0, count: output.count)
        for oy in 0..<oh { for ox in 0..<ow { for ch in 0..<oc {
            let (iy, ix, ic) = (starts[1] + oy * steps[1], starts[2] + ox * steps[2], starts[0] + ch * steps[0])
            y[(oy * ow + ox) * oc + ch] = x[(iy * w + ix) * c + ic]
        } } }
        return y
    }

    static func lower(_ n: Node, starts: [Int], steps: [Int], in b: inout Builder) throws {
        let x = try b.inputTensor(n, 0)
        let out = b.graph.shape(n.output)
        guard x.isImage, out.count == 4, starts.count == 4, steps.count == 4, starts[0] == 0, steps[0] == 1, out[0] == x.shape[0],
              starts.allSatisfy({ $0 >= 0 }), steps.allSatisfy({ $0 >= 1 }),
              (1..<4).allSatisfy({ starts[$0] + (out[$0] - 1) * steps[$0] < x.shape[$0] }) else {
            throw b.fail(n, "only a slice of an image's channels, height and width with positive steps is supported as integer (starts \(starts), steps \(steps))")
        }
        let op = QSlice(starts: Array(starts[1...]), steps: Array(steps[1...]))
        b.add(n, .slice(op), inputs: [x.name], output: QTensor(name: n.output, shape: out, quant: x.quant))
    }
}
