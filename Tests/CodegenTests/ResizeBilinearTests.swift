import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// Bilinear Resize in integers (10-bit tap weights, output on the input's grid) with the
/// coordinate modes exporters use: half-pixel ×2 (TFLite half_pixel_centers, ONNX), asymmetric
/// at a non-integer ratio (TFLite's default), align-corners; through quantizer, engine and C.
@Suite struct ResizeBilinearTests {
    static let modes: [(String, Resize)] = [
        ("half", Resize(mode: .linear, coordinates: .halfPixel, rounding: .roundPreferFloor, sizes: [8, 10], scales: [2, 2])),
        ("asym", Resize(mode: .linear, coordinates: .asymmetric, rounding: .roundPreferFloor, sizes: [6, 7], scales: [1.5, 1.4])),
        ("corners", Resize(mode: .linear, coordinates: .alignCorners, rounding: .roundPreferFloor, sizes: [7, 9], scales: [1.75, 1.8])),
    ]

    static func graph() throws -> Graph {
        var rng = SeededRandom(seed: 33)
        var g = Graph(name: "bilinear", inputs: ["x"], outputs: modes.map(\.0))
        g.shapes["x"] = [1, 3, 4, 5]
        g.constants["w1"] = Tensor(shape: [6, 3, 3, 3], data: (0..<162).map { _ in Float.random(in: -0.5...0.5, using: &rng) }); g.shapes["w1"] = [6, 3, 3, 3]
        g.constants["b1"] = Tensor(shape: [6], data: (0..<6).map { _ in Float.random(in: -0.1...0.1, using: &rng) }); g.shapes["b1"] = [6]
        try g.append(Node(name: "conv1", op: .conv(Conv2D(kernelShape: [3, 3], strides: [1, 1], dilations: [1, 1], pads: [1, 1, 1, 1], group: 1)),
                          inputs: ["x", "w1", "b1"], output: "c1"))
        for (name, r) in modes { try g.append(Node(name: name, op: .resize(r), inputs: ["c1"], output: name)) }
        return g
    }

    static func quantized(bits: Int) throws -> (Graph, QuantizedModel, Tensor) {
        let g = try graph()
        let cal = Calibrator.syntheticInputs(shape: [1, 3, 4, 5], count: 6)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        return (g, try Quantizer.quantize(graph: g, policy: .uniform(bits), stats: stats), cal)
    }

    /// Within one code of the float bilinear sum of the dequantized input (the taps' weights are
    /// rounded to 2^-10), on the input's grid.
    @Test(arguments: [8, 4, 2])
    func engineIsWithinACodeOfTheDefinition(bits: Int) throws {
        let (_, model, cal) = try Self.quantized(bits: bits)
        #expect(model.layers.filter { $0.op.name == "ResizeBilinear" }.count == 3)
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(cal.item(0)))
        let tx = try #require(model.tensors["c1"])
        let x = try engine.dequantize(#require(env["c1"]), tx)
        for (name, r) in Self.modes {
            let ty = try #require(model.tensors[name])
            #expect(ty.quant == tx.quant)
            let y = try engine.dequantize(#require(env[name]), ty)
            let (oh, ow) = (r.sizes[0], r.sizes[1])
            func taps(_ o: Int, _ axis: Int, _ n: Int, _ out: Int) -> (Int, Int, Float) {
                let p = min(max(r.sourceCoordinate(o, out: out, in: n, scale: r.scales[axis]), 0), Float(n - 1))
                let lo = Int(p.rounded(.down))
                return (lo, min(lo + 1, n - 1), p - Float(lo))
            }
            var worst: Float = 0
            for c in 0..<6 { for oy in 0..<oh { for ox in 0..<ow {
                let (y0, y1, fy) = taps(oy, 0, 4, oh), (x0, x1, fx) = taps(ox, 1, 5, ow)
                func at(_ i: Int, _ j: Int) -> Float { x.data[(c * 4 + i) * 5 + j] }
                let ref = (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1))
                worst = max(worst, abs(y.data[(c * oh + oy) * ow + ox] - ref) / Float(ty.quant.scale))
            } } }
            #expect(worst <= 1, "\(name) at \(bits) bits: \(worst) codes")
        }
    }

    @Test(arguments: [8, 4, 2])
    func generatedCIsBitExact(bits: Int) throws {
        let (g, model, cal) = try Self.quantized(bits: bits)
        let mm = MemoryModel(graph: g)
        let p = try CEmitter.emit(model: model, arena: mm.arena { model.tensors[$0]?.quant.bits ?? 8 }, name: "bilinear\(bits)",
                                  runtime: OpChainCodegenTests.runtime, testInput: cal.item(0), memory: mm)
        let dir = Fixtures.temporaryDirectory("bilinear")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
        guard Toolchain.find("arm-none-eabi-gcc") != nil, Toolchain.find("qemu-system-arm") != nil, bits == 8 else { return }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/cortex-m4.json")))
        let m4 = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
        #expect(m4.built && m4.ran && m4.bitExact, "\(m4)")
    }
}
