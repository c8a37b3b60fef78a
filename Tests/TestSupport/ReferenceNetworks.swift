import Graph

/// Full-size reference architectures built directly in the IR (zero weights, exact shapes),
/// for the memory-model figures; the float fixtures are reduced models in ONNX.
public enum ReferenceNetworks {
    /// MobileNetV1 1.0 at 224×224 with 1000 classes: conv stem, 13 depthwise-separable blocks,
    /// global average pool, fully connected. BatchNorm folded; ReLU after every convolution.
    public static func mobileNetV1(width: Double = 1.0, resolution: Int = 224, classes: Int = 1000) throws -> Graph {
        var g = Graph(name: "mobilenet_v1", inputs: ["input"], outputs: ["logits"])
        g.shapes["input"] = [1, 3, resolution, resolution]
        var x = "input"
        var c = 3
        var i = 0
        func conv(_ cin: Int, _ cout: Int, _ k: Int, _ s: Int, group: Int) throws {
            let w = "w\(i)", b = "b\(i)", y = "conv\(i)", r = "relu\(i)"
            g.constants[w] = Tensor(zeros: [cout, cin / group, k, k])
            g.shapes[w] = [cout, cin / group, k, k]
            g.constants[b] = Tensor(zeros: [cout])
            g.shapes[b] = [cout]
            try g.append(Node(name: "conv\(i)", op: .conv(Conv2D(kernelShape: [k, k], strides: [s, s], dilations: [1, 1], pads: [k / 2, k / 2, k / 2, k / 2], group: group)),
                              inputs: [x, w, b], output: y))
            try g.append(Node(name: "relu\(i)", op: .relu, inputs: [y], output: r))
            x = r
            c = cout
            i += 1
        }
        let ch = { (v: Int) in Int(Double(v) * width) }
        try conv(3, ch(32), 3, 2, group: 1)
        for (co, s) in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)] {
            try conv(c, c, 3, s, group: c)
            try conv(c, ch(co), 1, 1, group: 1)
        }
        try g.append(Node(name: "pool", op: .globalAveragePool, inputs: [x], output: "pool"))
        try g.append(Node(name: "flatten", op: .reshape(shape: [1, c]), inputs: ["pool"], output: "flat"))
        g.constants["fcw"] = Tensor(zeros: [classes, c])
        g.shapes["fcw"] = [classes, c]
        g.constants["fcb"] = Tensor(zeros: [classes])
        g.shapes["fcb"] = [classes]
        try g.append(Node(name: "fc", op: .fullyConnected, inputs: ["flat", "fcw", "fcb"], output: "logits"))
        return g
    }
}
