import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// Ops that only move pixels, as decoders and segmentation heads use them: DepthToSpace (DCR
/// and CRD), a strided Slice of channels, H and W, and nearest Resize by whole factors (half-pixel and asymmetric coordinates), taken
/// through calibrate → quantize → integer engine → C at every width. The outputs share their
/// input's grid, so the integer results are the input codes moved.
@Suite struct DataMovementTests {
    static func graph() throws -> Graph {
        var rng = SeededRandom(seed: 21)
        var g = Graph(name: "move", inputs: ["x"], outputs: ["up", "d2", "sl"])
        g.shapes["x"] = [1, 3, 4, 5]
        func const(_ name: String, _ shape: [Int], scale: Float = 0.5) {
            g.constants[name] = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) * scale })
            g.shapes[name] = shape
        }
        const("w1", [12, 3, 3, 3]); const("b1", [12], scale: 0.1)
        const("w2", [6, 3, 1, 1]); const("b2", [6], scale: 0.1)
        let conv = { (k: Int, p: Int) in Op.conv(Conv2D(kernelShape: [k, k], strides: [1, 1], dilations: [1, 1], pads: [p, p, p, p], group: 1)) }
        try g.append(Node(name: "conv1", op: conv(3, 1), inputs: ["x", "w1", "b1"], output: "c1"))
        try g.append(Node(name: "d2s_dcr", op: .depthToSpace(blockSize: 2, mode: .dcr), inputs: ["c1"], output: "d1"))
        try g.append(Node(name: "conv2", op: conv(1, 0), inputs: ["d1", "w2", "b2"], output: "c2"))
        let half = Resize(mode: .nearest, coordinates: .halfPixel, rounding: .roundPreferFloor, sizes: [16, 30], scales: [2, 3])
        try g.append(Node(name: "upsample", op: .resize(half), inputs: ["c2"], output: "up"))
        try g.append(Node(name: "d2s_crd", op: .depthToSpace(blockSize: 2, mode: .crd), inputs: ["c1"], output: "d2"))
        try g.append(Node(name: "channel_split", op: .slice(starts: [0, 5, 1, 0], ends: [1, 12, 4, 5], steps: [1, 2, 1, 2]), inputs: ["c1"], output: "sl"))
        return g
    }

    static func quantized(bits: Int) throws -> (Graph, QuantizedModel, Tensor) {
        let g = try graph()
        let cal = Calibrator.syntheticInputs(shape: [1, 3, 4, 5], count: 6)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(bits), stats: stats)
        return (g, model, cal)
    }

    /// Each moved tensor equals its plain definition on the logical (NCHW) values of its input.
    @Test(arguments: [8, 4, 2])
    func engineMatchesTheDefinition(bits: Int) throws {
        let (_, model, cal) = try Self.quantized(bits: bits)
        #expect(Set(model.layers.map(\.op.name)).isSuperset(of: ["DepthToSpace", "ResizeNearest", "Slice"]))
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(cal.item(0)))
        func logical(_ n: String) throws -> Tensor { try engine.dequantize(#require(env[n]), #require(model.tensors[n])) }
        let c1 = try logical("c1"), c2 = try logical("c2")
        for (name, crd) in [("d1", false), ("d2", true)] {
            let y = try logical(name)
            var want = [Float](repeating: 0, count: y.count)
            for c in 0..<3 { for h in 0..<4 { for w in 0..<5 { for i in 0..<2 { for j in 0..<2 {
                let ch = crd ? c * 4 + i * 2 + j : (i * 2 + j) * 3 + c
                want[(c * 8 + h * 2 + i) * 10 + w * 2 + j] = c1.data[(ch * 4 + h) * 5 + w]
            } } } } }
            #expect(y.shape == [1, 3, 8, 10] && y.data == want, "\(name) at \(bits) bits")
        }
        let up = try logical("up")
        var want = [Float](repeating: 0, count: up.count)
        for c in 0..<6 { for oy in 0..<16 { for ox in 0..<30 { want[(c * 16 + oy) * 30 + ox] = c2.data[(c * 8 + oy / 2) * 10 + ox / 3] } } }
        #expect(up.shape == [1, 6, 16, 30] && up.data == want, "up at \(bits) bits")
        let sl = try logical("sl")
        var cut = [Float]()
        for c in stride(from: 5, to: 12, by: 2) { for h in 1..<4 { for w in stride(from: 0, to: 5, by: 2) { cut.append(c1.data[(c * 4 + h) * 5 + w]) } } }
        #expect(sl.shape == [1, 4, 3, 3] && sl.data == cut, "sl at \(bits) bits")
    }

    @Test func eightBitsAgreesWithFloat() throws {
        let (g, model, cal) = try Self.quantized(bits: 8)
        let float = try FloatEngine(graph: g).run(cal)
        let ints = try IntegerEngine(model: model).run(cal)
        for o in 0..<3 {
            let e = relativeMaxError(ints[o].data, float[o].data)
            #expect(e < 0.05, "output \(o): relative max error \(e)")
        }
    }

    /// Align-corners nearest does not repeat pixels evenly: refused with a message naming the node.
    @Test func alignCornersIsRefused() throws {
        var g = try Self.graph()
        let i = try #require(g.nodes.firstIndex { $0.name == "upsample" })
        g.nodes[i].op = .resize(Resize(mode: .nearest, coordinates: .alignCorners, rounding: .roundPreferFloor, sizes: [16, 30], scales: [2, 3]))
        let cal = Calibrator.syntheticInputs(shape: [1, 3, 4, 5], count: 2)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        #expect(throws: QuantizeError.self) { _ = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats) }
    }

    @Test(arguments: [8, 4, 2])
    func generatedCIsBitExact(bits: Int) throws {
        let (g, model, cal) = try Self.quantized(bits: bits)
        let mm = MemoryModel(graph: g)
        let p = try CEmitter.emit(model: model, arena: mm.arena { model.tensors[$0]?.quant.bits ?? 8 }, name: "move\(bits)",
                                  runtime: OpChainCodegenTests.runtime, testInput: cal.item(0), memory: mm)
        let dir = Fixtures.temporaryDirectory("move")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
        guard Toolchain.find("arm-none-eabi-gcc") != nil, Toolchain.find("qemu-system-arm") != nil, bits == 2 else { return }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/cortex-m4.json")))
        let m4 = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
        #expect(m4.built && m4.ran && m4.bitExact, "\(m4)")
    }
}
