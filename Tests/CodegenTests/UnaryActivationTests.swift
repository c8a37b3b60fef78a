import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// Element-wise functions of one activation as real exports leave them: SiLU (x·sigmoid(x),
/// signed output), softplus (non-negative output, stored unsigned), PReLU with a per-channel
/// slope (negative, zero and positive slopes) and with a scalar slope (a second output), taken
/// through calibrate → quantize → integer engine → C at every width.
@Suite struct UnaryActivationTests {
    static let silu: ScalarFunction = .x * .unary(.sigmoid, .x)
    static let softplus: ScalarFunction = .unary(.softplus, .x)

    static func graph() throws -> Graph {
        var rng = SeededRandom(seed: 12)
        var g = Graph(name: "unary", inputs: ["x"], outputs: ["y", "z"])
        g.shapes["x"] = [1, 3, 6, 6]
        func const(_ name: String, _ shape: [Int], scale: Float = 0.5) {
            g.constants[name] = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) * scale })
            g.shapes[name] = shape
        }
        const("w1", [4, 3, 3, 3]); const("b1", [4], scale: 0.1)
        const("w2", [5, 4, 1, 1]); const("b2", [5], scale: 0.1)
        g.constants["slope"] = Tensor(shape: [5], data: [0.25, -0.5, 0, 1.5, 0.1]); g.shapes["slope"] = [5]
        g.constants["alpha"] = Tensor(shape: [1], data: [0.2]); g.shapes["alpha"] = [1]
        let conv = { (k: Int, p: Int) in Op.conv(Conv2D(kernelShape: [k, k], strides: [1, 1], dilations: [1, 1], pads: [p, p, p, p], group: 1)) }
        try g.append(Node(name: "conv1", op: conv(3, 1), inputs: ["x", "w1", "b1"], output: "c1"))
        try g.append(Node(name: "silu", op: .elementwise(silu), inputs: ["c1"], output: "e1"))
        try g.append(Node(name: "conv2", op: conv(1, 0), inputs: ["e1", "w2", "b2"], output: "c2"))
        try g.append(Node(name: "prelu", op: .prelu, inputs: ["c2", "slope"], output: "p"))
        try g.append(Node(name: "softplus", op: .elementwise(softplus), inputs: ["p"], output: "y"))
        try g.append(Node(name: "prelu_scalar", op: .prelu, inputs: ["e1", "alpha"], output: "z"))
        return g
    }

    static func quantized(bits: Int) throws -> (Graph, QuantizedModel, Tensor) {
        let g = try graph()
        let cal = Calibrator.syntheticInputs(shape: [1, 3, 6, 6], count: 8)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(bits), stats: stats)
        return (g, model, cal)
    }

    /// The engine's output of each function equals its plain definition on every element:
    /// quantize(f(dequantize(x))) at the output's scale; a non-negative function's output is unsigned.
    @Test(arguments: [8, 4, 2])
    func engineMatchesTheDefinition(bits: Int) throws {
        let (_, model, cal) = try Self.quantized(bits: bits)
        #expect(model.layers.filter { $0.op.name == "Lookup" }.count == 2)
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(cal.item(0)))
        for (x, y, f) in [("c1", "e1", Self.silu), ("p", "y", Self.softplus)] {
            let tx = try #require(model.tensors[x]), ty = try #require(model.tensors[y])
            #expect(ty.quant.signed == !f.isNonNegative, "\(y)")
            let xs = try unpack(#require(env[x]), runs: tx.runs, runLength: tx.runLength, bits: tx.quant.bits, signed: tx.quant.signed)
            let ys = try unpack(#require(env[y]), runs: ty.runs, runLength: ty.runLength, bits: ty.quant.bits, signed: ty.quant.signed)
            let want = xs.map { ty.quant.quantize(f(tx.quant.dequantize($0))) }
            #expect(ys == want, "\(y) at \(bits) bits")
        }
    }

    /// PReLU's codes equal the plain definition: round-half-up of x·s_x/s_y, times the channel's
    /// slope where x < 0, clamped to the output's codes.
    @Test(arguments: [8, 4, 2])
    func preluMatchesTheDefinition(bits: Int) throws {
        let (g, model, cal) = try Self.quantized(bits: bits)
        #expect(model.layers.filter { $0.op.name == "PReLU" }.count == 2)
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(cal.item(0)))
        for (x, y, slope) in [("c2", "p", "slope"), ("e1", "z", "alpha")] {
            let tx = try #require(model.tensors[x]), ty = try #require(model.tensors[y])
            let k = try #require(g.constants[slope]).data
            let xs = try unpack(#require(env[x]), runs: tx.runs, runLength: tx.runLength, bits: tx.quant.bits, signed: tx.quant.signed)
            let ys = try unpack(#require(env[y]), runs: ty.runs, runLength: ty.runLength, bits: ty.quant.bits, signed: ty.quant.signed)
            let r = tx.quant.scale / ty.quant.scale
            let want = xs.enumerated().map { i, v -> Int32 in
                let a = v >= 0 ? 1 : Double(k.count == 1 ? k[0] : k[i % tx.runLength])
                let q = (Double(v) * a * r + 0.5).rounded(.down)
                return Int32(min(max(q, Double(ty.quant.qmin)), Double(ty.quant.qmax)))
            }
            #expect(ys == want, "\(y) at \(bits) bits")
            if bits == 8 && y == "z" { #expect(ys.contains { $0 < 0 }, "a positive slope keeps negatives") }
        }
    }

    @Test func eightBitsAgreesWithFloat() throws {
        let (g, model, cal) = try Self.quantized(bits: 8)
        let float = try FloatEngine(graph: g).run(cal)
        let ints = try IntegerEngine(model: model).run(cal)
        for o in 0..<2 {
            let e = relativeMaxError(ints[o].data, float[o].data)
            #expect(e < 0.08, "output \(o): relative max error \(e)")
        }
    }

    @Test(arguments: [8, 4, 2])
    func generatedCIsBitExact(bits: Int) throws {
        let (g, model, cal) = try Self.quantized(bits: bits)
        let mm = MemoryModel(graph: g)
        let p = try CEmitter.emit(model: model, arena: mm.arena { model.tensors[$0]?.quant.bits ?? 8 }, name: "unary\(bits)",
                                  runtime: OpChainCodegenTests.runtime, testInput: cal.item(0), memory: mm)
        let dir = Fixtures.temporaryDirectory("unary")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
        guard Toolchain.find("arm-none-eabi-gcc") != nil, Toolchain.find("qemu-system-arm") != nil, bits == 4 else { return }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/cortex-m4.json")))
        let m4 = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
        #expect(m4.built && m4.ran && m4.bitExact, "\(m4)")
    }
}
