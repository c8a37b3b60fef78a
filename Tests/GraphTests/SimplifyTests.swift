import Graph
import TestSupport
import Testing

/// `Graph.simplify()` on small hand-built graphs: the function stays the same (float engine
/// before and after), and the structure is what the quantizer expects.
@Suite struct SimplifyTests {
    var rng = SeededRandom(seed: 7)

    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -scale...scale, using: &rng) })
    }

    /// conv → y; hard-swish of y decomposed; a per-channel Mul; c − x with a scalar; Relu.
    mutating func graph() throws -> Graph {
        var g = Graph(name: "t", inputs: ["x"], outputs: ["out"])
        g.shapes["x"] = [1, 3, 6, 6]
        func const(_ name: String, _ t: Tensor) { g.constants[name] = t; g.shapes[name] = t.shape }
        const("w", tensor([4, 3, 3, 3]))
        const("b", tensor([4]))
        const("three", Tensor(shape: [], data: [3]))
        const("six", Tensor(shape: [1], data: [6]))
        const("chan", tensor([1, 4, 1, 1]))
        const("half", Tensor(shape: [1], data: [0.5]))
        try g.append(Node(name: "conv", op: .conv(Conv2D(kernelShape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1)),
                          inputs: ["x", "w", "b"], output: "y"))
        try g.append(Node(name: "add3", op: .add, inputs: ["y", "three"], output: "a"))
        try g.append(Node(name: "clip", op: .clip(min: 0, max: 6), inputs: ["a"], output: "c"))
        try g.append(Node(name: "mul", op: .mul, inputs: ["y", "c"], output: "m"))
        try g.append(Node(name: "div", op: .div, inputs: ["m", "six"], output: "hs"))
        // `a` is also read outside the chain: it stays computed.
        try g.append(Node(name: "mulc", op: .mul, inputs: ["hs", "chan"], output: "pc"))
        try g.append(Node(name: "side", op: .add, inputs: ["pc", "a"], output: "s"))
        try g.append(Node(name: "rsub", op: .sub, inputs: ["half", "s"], output: "r"))
        try g.append(Node(name: "relu", op: .relu, inputs: ["r"], output: "out"))
        return g
    }

    @Test mutating func simplifyKeepsTheFunction() throws {
        let g = try graph()
        var s = g
        s.simplify()
        let x = tensor([2, 3, 6, 6], scale: 2)
        let before = try FloatEngine(graph: g).run(x)[0], after = try FloatEngine(graph: s).run(x)[0]
        #expect(relativeMaxError(after.data, before.data) < 1e-5)
        let ops = s.nodes.map(\.op.name)
        #expect(ops.contains("HardSwish"))
        // The per-channel Mul after the hard-swish is an affine op; 0.5 − s is folded into the
        // element-wise tree together with the Relu; `a` = y + 3 is still there for `side`.
        #expect(s.nodes.contains { $0.op == .batchNorm && $0.name == "mulc" })
        #expect(s.nodes.contains { $0.name == "add3" })
        #expect(!s.nodes.contains { $0.name == "clip" || $0.name == "mul" })
        let last = try #require(s.nodes.last)
        #expect(last.inputs == ["s"] && last.op == .elementwise(.unary(.relu, .constant(0.5) - .x)))
    }

    @Test mutating func reluAfterConvIsLeftForTheClamp() throws {
        var g = Graph(name: "t", inputs: ["x"], outputs: ["out"])
        g.shapes["x"] = [1, 2, 4, 4]
        g.constants["w"] = tensor([2, 2, 1, 1]); g.shapes["w"] = [2, 2, 1, 1]
        g.constants["k"] = Tensor(shape: [1], data: [2]); g.shapes["k"] = [1]
        try g.append(Node(name: "conv", op: .conv(Conv2D(kernelShape: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0], group: 1)),
                          inputs: ["x", "w"], output: "y"))
        try g.append(Node(name: "scale", op: .mul, inputs: ["y", "k"], output: "z"))  // folds into the conv
        try g.append(Node(name: "relu", op: .relu, inputs: ["z"], output: "r"))
        try g.append(Node(name: "tanh", op: .elementwise(.unary(.tanh, .x)), inputs: ["r"], output: "out"))
        var s = g
        s.simplify()
        #expect(s.nodes.map(\.op.name) == ["Conv", "Relu", "Tanh"])
        let x = tensor([1, 2, 4, 4])
        #expect(relativeMaxError(try FloatEngine(graph: s).run(x)[0].data, try FloatEngine(graph: g).run(x)[0].data) < 1e-6)
    }

    @Test mutating func consecutiveAffineOpsMerge() throws {
        var g = Graph(name: "t", inputs: ["x"], outputs: ["out"])
        g.shapes["x"] = [1, 3, 2, 2]
        for (n, shape) in [("s1", [3]), ("t1", [3]), ("c", [3, 1, 1])] { g.constants[n] = tensor(shape); g.shapes[n] = shape }
        g.constants["two"] = Tensor(shape: [1], data: [2]); g.shapes["two"] = [1]
        try g.append(Node(name: "bn", op: .batchNorm, inputs: ["x", "s1", "t1"], output: "a"))
        try g.append(Node(name: "sub", op: .sub, inputs: ["a", "c"], output: "b"))
        try g.append(Node(name: "div", op: .div, inputs: ["b", "two"], output: "out"))
        var s = g
        s.simplify()
        #expect(s.nodes.count == 1 && s.nodes[0].op == .batchNorm)
        let x = tensor([1, 3, 2, 2])
        #expect(relativeMaxError(try FloatEngine(graph: s).run(x)[0].data, try FloatEngine(graph: g).run(x)[0].data) < 1e-6)
    }
}
