import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// Patterns real exports contain, built as a graph and taken through calibrate → quantize →
/// integer engine → C: a residual block whose shortcut zero-pads channels, an activation times,
/// plus and divided by constants (per-channel and scalar), a concatenation along H, and two
/// detector heads (a Transpose to NHWC + Reshape into [1, N, K], and a Reshape of an NCHW image)
/// concatenated on axis 1. Two graph outputs.
@Suite struct RealExportPatternTests {
    static func graph() throws -> Graph {
        var rng = SeededRandom(seed: 5)
        var g = Graph(name: "heads", inputs: ["x"], outputs: ["boxes", "stack"])
        g.shapes["x"] = [1, 3, 8, 8]
        func const(_ name: String, _ shape: [Int], scale: Float = 0.4, offset: Float = 0) {
            g.constants[name] = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) * scale + offset })
            g.shapes[name] = shape
        }
        const("w1", [4, 3, 3, 3]); const("b1", [4], scale: 0.1)
        const("w2", [8, 4, 1, 1]); const("b2", [8], scale: 0.1)
        const("k", [8, 1, 1], scale: 0.5, offset: 1)
        const("half", [], scale: 0, offset: 0.5)
        const("two", [1], scale: 0, offset: 2)
        let conv = { (k: Int, p: Int) in Op.conv(Conv2D(kernelShape: [k, k], strides: [1, 1], dilations: [1, 1], pads: [p, p, p, p], group: 1)) }
        try g.append(Node(name: "conv1", op: conv(3, 1), inputs: ["x", "w1", "b1"], output: "c1"))
        try g.append(Node(name: "relu1", op: .relu, inputs: ["c1"], output: "a"))
        try g.append(Node(name: "channel_padding", op: .pad(pads: [0, 2, 0, 0, 0, 2, 0, 0], value: 0), inputs: ["a"], output: "p"))
        try g.append(Node(name: "conv2", op: conv(1, 0), inputs: ["a", "w2", "b2"], output: "b"))
        try g.append(Node(name: "residual", op: .add, inputs: ["p", "b"], output: "s"))
        try g.append(Node(name: "scale", op: .mul, inputs: ["s", "k"], output: "s1"))
        try g.append(Node(name: "shift", op: .add, inputs: ["half", "s1"], output: "s2"))
        try g.append(Node(name: "halve", op: .div, inputs: ["s2", "two"], output: "s3"))
        try g.append(Node(name: "stack", op: .concat(axis: 2), inputs: ["s3", "b"], output: "stack"))
        try g.append(Node(name: "to_nhwc", op: .transpose(perm: [0, 2, 3, 1]), inputs: ["s3"], output: "t"))
        try g.append(Node(name: "head1", op: .reshape(shape: [1, 64, 8]), inputs: ["t"], output: "h1"))
        try g.append(Node(name: "head2", op: .reshape(shape: [1, 32, 16]), inputs: ["b"], output: "h2x"))
        try g.append(Node(name: "head2b", op: .reshape(shape: [1, 64, 8]), inputs: ["h2x"], output: "h2"))
        try g.append(Node(name: "boxes", op: .concat(axis: 1), inputs: ["h1", "h2"], output: "boxes"))
        return g
    }

    static func quantized(bits: Int) throws -> (Graph, QuantizedModel, Tensor) {
        let g = try graph()
        let cal = Calibrator.syntheticInputs(shape: [1, 3, 8, 8], count: 8)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(bits), stats: stats)
        return (g, model, cal)
    }

    @Test func eightBitsAgreesWithFloat() throws {
        let (g, model, cal) = try Self.quantized(bits: 8)
        #expect(Set(model.layers.map(\.op.name)).isSuperset(of: ["Pad", "ChannelAffine", "Concat", "Reshape", "Add"]))
        let float = try FloatEngine(graph: g).run(cal)
        let ints = try IntegerEngine(model: model).run(cal)
        #expect(ints.count == 2 && float.count == 2)
        for (i, name) in g.outputs.enumerated() {
            #expect(ints[i].shape == float[i].shape, "\(name)")
            let e = relativeMaxError(ints[i].data, float[i].data)
            #expect(e < 0.06, "\(name): relative max error \(e)")
        }
    }

    /// The emitted parameter blob equals the memory model's FLASH (checked inside `emit`), and the
    /// C is bit-exact with the Swift engine on every output.
    @Test(arguments: [8, 4, 2])
    func generatedCIsBitExact(bits: Int) throws {
        let (g, model, cal) = try Self.quantized(bits: bits)
        let mm = MemoryModel(graph: g)
        let p = try CEmitter.emit(model: model, arena: mm.arena { model.tensors[$0]?.quant.bits ?? 8 }, name: "heads\(bits)",
                                  runtime: OpChainCodegenTests.runtime, testInput: cal.item(0), memory: mm)
        let dir = Fixtures.temporaryDirectory("heads")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
        guard Toolchain.find("arm-none-eabi-gcc") != nil, Toolchain.find("qemu-system-arm") != nil, bits == 4 else { return }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/cortex-m4.json")))
        let m4 = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
        #expect(m4.built && m4.ran && m4.bitExact, "\(m4)")
        #expect(m4.sections[".nn_params"] == p.parameterBytes)
    }
}
