import Codegen
import Footprint
import Foundation
import Graph
import Import
import Kernels
import Quantize
import TestSupport
import Testing

/// Generated C against the Swift integer engine: every kernel and bit combination on the host,
/// and whole fixture models with mixed 2/4/8-bit policies on the host and under QEMU.
@Suite struct CodegenTests {
    static let runtime = Fixtures.packageRoot.appendingPathComponent("pipeline/runtime")

    static func profile(_ name: String) throws -> TargetProfile {
        try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/\(name).json")))
    }

    /// Emits, writes and builds `model` on the host; returns whether it ran bit-exact. Without
    /// a graph, every tensor gets its own buffer.
    func hostBitExact(_ model: QuantizedModel, input: Tensor, name: String, graph: Graph? = nil) throws -> (Bool, String) {
        let steps = model.layers.count + 1
        let arena = graph.map { g in MemoryModel(graph: g).arena { model.tensors[$0]?.quant.bits ?? 8 } }
            ?? ArenaPlan(buffers: ([model.input] + model.layers.map(\.output)).map { (name: $0, size: model.tensors[$0]!.bytes, first: 0, last: steps) })
        let p = try CEmitter.emit(model: model, arena: arena, name: name, runtime: Self.runtime, testInput: input)
        let dir = Fixtures.temporaryDirectory("cg")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        return (r.bitExact, r.output)
    }

    struct Case: CustomStringConvertible {
        var inBits: Int, wBits: Int, outBits: Int, depthwise: Bool
        var description: String { "in\(inBits) w\(wBits) out\(outBits) \(depthwise ? "dw" : "conv")" }
    }

    static let cases: [Case] = [2, 4, 8].flatMap { i in [2, 4, 8].flatMap { w in [2, 4, 8].flatMap { o in [false, true].map { Case(inBits: i, wBits: w, outBits: o, depthwise: $0) } } } }

    /// A random single convolution (odd and block-sized channel counts, stride 2, asymmetric padding, a zero-point on
    /// the input) followed by max pool, reshape, a fully connected layer and a residual add.
    /// `pointwise`: a 1×1 convolution without padding over an odd number of pixels instead (the
    /// kernels' pointwise path, two pixels at a time, with a last single pixel).
    static func model(_ k: Case, seed: UInt64, pointwise: Bool = false) throws -> (QuantizedModel, Tensor) {
        var rng = SeededRandom(seed: seed)
        let cin = [3, 5, 7, 16, 24][Int(seed % 5)]  // 16, 24: whole SMLAD blocks
        let (h, w, kh, stride) = pointwise ? (5, 3, 1, 1) : (9, 7, 3, 2)
        let kw = pointwise ? 1 : [3, 2][Int(seed % 2)]  // non-square windows too
        let cout = k.depthwise ? cin : [5, 9, 3][Int(seed % 3)]
        let groups = k.depthwise ? cin : 1
        let pads = pointwise ? [0, 0, 0, 0] : [1, 0, 1, 1]
        let oh = (h + pads[0] + pads[2] - kh) / stride + 1, ow = (w + pads[1] + pads[3] - kw) / stride + 1
        let inQ = ActivationQuant(bits: k.inBits, signed: false, scale: 0.05, zeroPoint: (1 << k.inBits) / 3)
        let outQ = ActivationQuant(bits: k.outBits, signed: seed % 2 == 0, scale: 0.1)
        let wq = 1 << (k.wBits - 1)
        let cinG = cin / groups
        let taps = kh * kw * cinG
        let wv = (0..<cout * taps).map { _ in Int32(Int.random(in: -wq...(wq - 1), using: &rng)) }  // OHWI
        var packed: [UInt8]
        if k.depthwise {
            var hwc = [Int32](repeating: 0, count: wv.count)
            for co in 0..<cout { for t in 0..<(kh * kw) { hwc[t * cout + co] = wv[co * kh * kw + t] } }
            packed = pack(hwc, runs: kh * kw, runLength: cout, bits: k.wBits)
        } else {
            packed = pack(wv, runs: cout, runLength: taps, bits: k.wBits)
        }
        // As the quantizer does: the bias takes out the input zero-point (−zp·Σw), plus a little.
        let xMagnitude = min(Double(1 << (k.inBits - 1)), 5)
        let bias = (0..<cout).map { c in
            Int32(-inQ.zeroPoint * Int(wv[(c * taps)..<((c + 1) * taps)].reduce(0, +))) + Int32.random(in: -20...20, using: &rng)
        }
        let geo = WindowGeometry(inH: h, inW: w, inC: cin, outH: oh, outW: ow, outC: cout, kH: kh, kW: kw, strideH: stride, strideW: stride,
                                 padTop: pads[0], padLeft: pads[1])
        let conv = QConv(geometry: geo, groups: groups, depthwise: k.depthwise, weightBits: k.wBits, weights: packed,
                         weightScales: [Double](repeating: 1, count: cout), bias: bias,
                         multiplier: (0..<cout).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) },
                         shift: (0..<cout).map { _ in Int32.random(in: requantShifts(terms: taps, xMagnitude: xMagnitude, wBits: k.wBits, outBits: k.outBits), using: &rng) },
                         lo: Int32(outQ.qmin), hi: Int32(outQ.qmax), padValue: Int32(inQ.zeroPoint))
        let poolGeo = WindowGeometry(inH: oh, inW: ow, inC: cout, outH: (oh + 1 - 2) / 1 + 1, outW: (ow + 1 - 2) / 1 + 1, outC: cout, kH: 2, kW: 2,
                                     strideH: 1, strideW: 1, padTop: 1, padLeft: 0)
        let ph = poolGeo.outH, pw = poolGeo.outW
        let flat = cout * ph * pw
        let fcOut = 6
        let fcQ = ActivationQuant(bits: k.outBits, signed: true, scale: 0.2)
        let fwv = (0..<fcOut * flat).map { _ in Int32(Int.random(in: -wq...(wq - 1), using: &rng)) }
        let fc = QFullyConnected(inC: flat, outC: fcOut, weightBits: k.wBits, weights: pack(fwv, runs: fcOut, runLength: flat, bits: k.wBits),
                                 weightScales: [Double](repeating: 1, count: fcOut), bias: (0..<fcOut).map { _ in Int32.random(in: -100...100, using: &rng) },
                                 multiplier: (0..<fcOut).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) },
                                 shift: (0..<fcOut).map { _ in Int32.random(in: requantShifts(terms: flat, xMagnitude: Double(1 << (k.outBits - 1)) / 2, wBits: k.wBits, outBits: k.outBits), using: &rng) },
                                 lo: Int32(fcQ.qmin), hi: Int32(fcQ.qmax))
        let (m1, m2, t) = try sharedShift(0.6, 0.45)
        let tensors: [String: QTensor] = [
            "x": QTensor(name: "x", shape: [1, cin, h, w], quant: inQ),
            "c": QTensor(name: "c", shape: [1, cout, oh, ow], quant: outQ),
            "p": QTensor(name: "p", shape: [1, cout, ph, pw], quant: outQ),
            "r": QTensor(name: "r", shape: [1, flat], quant: outQ),
            "f": QTensor(name: "f", shape: [1, fcOut], quant: fcQ),
            "s": QTensor(name: "s", shape: [1, fcOut], quant: fcQ),
        ]
        let layers = [
            QLayer(name: "conv", op: .conv(conv), inputs: ["x"], output: "c"),
            QLayer(name: "pool", op: .maxPool(QMaxPool(geometry: poolGeo)), inputs: ["c"], output: "p"),
            QLayer(name: "flatten", op: .reshape(QReshape(fromNHWC: true)), inputs: ["p"], output: "r"),
            QLayer(name: "fc", op: .fullyConnected(fc), inputs: ["r"], output: "f"),
            QLayer(name: "add", op: .add(QAdd(m1: m1, m2: m2, shift: t, lo: Int32(fcQ.qmin), hi: Int32(fcQ.qmax))), inputs: ["f", "f"], output: "s"),
        ]
        let model = QuantizedModel(name: "t", input: "x", outputs: ["s"], tensors: tensors, layers: layers, outputSoftmaxAxis: nil)
        let x = Tensor(shape: [1, cin, h, w], data: (0..<cin * h * w).map { _ in Float.random(in: -0.5...0.5, using: &rng) })
        return (model, x)
    }

    @Test(arguments: cases)
    func kernelsMatchTheSwiftEngine(_ k: Case) throws {
        let seed = UInt64(k.inBits * 100 + k.wBits * 10 + k.outBits) * 2 + (k.depthwise ? 1 : 0)
        let (model, x) = try Self.model(k, seed: seed)
        try expectVaried(model, x, k)
        let (ok, out) = try hostBitExact(model, input: x, name: "case_\(seed)")
        #expect(ok, "\(k):\n\(out)")
    }

    /// The convolution's outputs take several values, a fair share of them strictly between the
    /// clamp bounds (unsigned outputs put about half of them at 0 by design).
    func expectVaried(_ model: QuantizedModel, _ x: Tensor, _ k: Case) throws {
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(x))
        let c = try #require(model.tensors["c"])
        let codes = engine.dequantize(try #require(env["c"]), c).data.map { Int(($0 / Float(c.quant.scale)).rounded()) }
        let inside = codes.filter { $0 > c.quant.qmin && $0 < c.quant.qmax }.count
        let varied = codesVary(codes, lo: c.quant.qmin, hi: c.quant.qmax, bits: k.outBits)
        #expect(varied, "\(k): convolution outputs saturate (\(Set(codes).count) codes, \(inside) of \(codes.count) inside)")
    }

    static let pointwiseCases: [Case] = [(8, 8, 8), (8, 8, 4), (4, 4, 4), (2, 2, 2), (8, 4, 8), (8, 2, 8), (4, 8, 2)].map {
        Case(inBits: $0.0, wBits: $0.1, outBits: $0.2, depthwise: false)
    }

    @Test(arguments: pointwiseCases, [UInt64(3), 4])
    func pointwiseMatchesTheSwiftEngine(_ k: Case, seed: UInt64) throws {
        let (model, x) = try Self.model(k, seed: seed, pointwise: true)
        try expectVaried(model, x, k)
        let (ok, out) = try hostBitExact(model, input: x, name: "pw_\(k.inBits)\(k.wBits)\(k.outBits)_\(seed)")
        #expect(ok, "\(k):\n\(out)")
    }

    /// The same cases on the emulated Cortex-M4, where the DSP instructions (SMLAD, SXTB16,
    /// SMLABB…) replace their portable C twins; with per-layer instruction counts.
    @Test(.enabled(if: InstalledTools.armQEMU, Comment(rawValue: InstalledTools.armQEMUMissing)), arguments: cases)
    func kernelsMatchTheSwiftEngineOnCortexM4(_ k: Case) throws {
        let seed = UInt64(k.inBits * 100 + k.wBits * 10 + k.outBits) * 2 + (k.depthwise ? 1 : 0)
        let (model, x) = try Self.model(k, seed: seed)
        try cortexM4BitExact(model, input: x, name: "m4_\(seed)", k)
    }

    @Test(.enabled(if: InstalledTools.armQEMU, Comment(rawValue: InstalledTools.armQEMUMissing)), arguments: pointwiseCases)
    func pointwiseMatchesTheSwiftEngineOnCortexM4(_ k: Case) throws {
        let (model, x) = try Self.model(k, seed: 3, pointwise: true)
        try cortexM4BitExact(model, input: x, name: "m4pw_\(k.inBits)\(k.wBits)\(k.outBits)", k)
    }

    /// Builds `model` for Cortex-M4, runs it under QEMU with the counting plugin and checks the
    /// output, every layer checksum and the per-layer counts.
    func cortexM4BitExact(_ model: QuantizedModel, input x: Tensor, name: String, _ k: Case) throws {
        let steps = model.layers.count + 1
        let arena = ArenaPlan(buffers: ([model.input] + model.layers.map(\.output)).map { (name: $0, size: model.tensors[$0]!.bytes, first: 0, last: steps) })
        let p = try CEmitter.emit(model: model, arena: arena, name: name, runtime: Self.runtime, testInput: x)
        let dir = Fixtures.temporaryDirectory("cgq")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        let plugin = try ProjectBuild.buildPlugin(source: Self.runtime.appendingPathComponent("qemu/icount.c"), in: dir)
        let r = try ProjectBuild.target(p, try Self.profile("cortex-m4"), flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir, plugin: plugin) { _ in }
        #expect(r.built && r.ran && r.bitExact, "\(k): \(r)")
        let layers = try #require(r.layerInstructions, "\(k): no per-layer instruction counts")
        #expect(layers.count == model.layers.count && layers.allSatisfy { $0 > 0 })
        // The layers add up to the inference, less the run function's own copies and calls.
        let total = try #require(r.instructionsPerInference)
        #expect(layers.reduce(0, +) <= total && layers.reduce(0, +) > total / 2, "\(layers) vs \(total)")
    }

    @Test func lookupPadPoolAndGateMatchTheSwiftEngine() throws {
        // A fixture with sigmoid-like lookups, pads and pools: ops_zoo has none quantizable end
        // to end, so use MNasNet (squeeze-excite: pool, lookup, channel mul) at mixed bits.
        let (model, x) = try fixtureModel("mnasnet_035_32", seed: 7)
        let ops = Set(model.layers.map(\.op.name))
        #expect(ops.isSuperset(of: ["Lookup", "ChannelMul", "AveragePool", "Add", "DepthwiseConv", "PointwiseConv", "FullyConnected"]))
        let (ok, out) = try hostBitExact(model, input: x, name: "mnasnet", graph: try OnnxImporter.load(Fixtures.url("mnasnet_035_32.onnx")))
        #expect(ok, "\(out)")
    }

    /// A fixture quantized with a random policy that uses 2, 4 and 8 bits for weights and
    /// activations.
    /// A fixture quantized with a mixed policy; `name` without an extension is the ONNX file.
    func fixtureModel(_ name: String, seed: UInt64) throws -> (QuantizedModel, Tensor) {
        let g = try ModelFile.load(Fixtures.url(name.contains(".") ? name : name + ".onnx"))
        let cal = Calibrator.syntheticInputs(shape: g.shape(g.inputs[0]), count: 4)
        let stats = try Calibrator.collect(graph: g, inputs: cal, synthetic: true)
        let t = Quantizer.policyTargets(g)
        var rng = SeededRandom(seed: seed)
        var p = Policy.uniform(8)
        for (i, w) in t.weights.enumerated() { p.weightBits[w] = [2, 4, 8][(i + Int(seed)) % 3] }
        for a in t.activations { p.activationBits[a] = [2, 4, 8].randomElement(using: &rng)! }
        return (try Quantizer.quantize(graph: g, policy: p, stats: stats), cal.item(0))
    }

    static let mixedFixtures = ["mobilenet_v1_025_32", "mobilenet_v2_035_32", "mnasnet_035_32", "mobilenet_v2_tfl_f16.tflite"]

    @Test(arguments: mixedFixtures)
    func fixtureWithMixedPolicyIsBitExactOnHost(model name: String) throws {
        try fixtureWithMixedPolicyIsBitExact(model: name, qemu: false)
    }

    @Test(.enabled(if: InstalledTools.armQEMU, Comment(rawValue: InstalledTools.armQEMUMissing)), arguments: mixedFixtures)
    func fixtureWithMixedPolicyIsBitExactOnQEMU(model name: String) throws {
        try fixtureWithMixedPolicyIsBitExact(model: name, qemu: true)
    }

    func fixtureWithMixedPolicyIsBitExact(model name: String, qemu: Bool) throws {
        let (model, x) = try fixtureModel(name, seed: 3)
        let usedW = Set(model.layers.compactMap { l -> Int? in if case .conv(let c) = l.op { return c.weightBits }; return nil })
        #expect(usedW == [2, 4, 8])
        if name.hasSuffix(".tflite") {  // concatenation, squeeze-excite, hard-swish, an NHWC flatten
            #expect(Set(model.layers.map(\.op.name)).isSuperset(of: ["Concat", "ChannelMul", "Lookup", "Add", "MaxPool", "AveragePool", "FullyConnected"]))
        }
        let g = try ModelFile.load(Fixtures.url(name.contains(".") ? name : name + ".onnx"))
        let arena = MemoryModel(graph: g).arena { model.tensors[$0]?.quant.bits ?? 8 }
        let p = try CEmitter.emit(model: model, arena: arena, name: (name as NSString).deletingPathExtension, runtime: Self.runtime, testInput: x)
        #expect(p.parameterBytes == model.parameterBytes)
        let dir = Fixtures.temporaryDirectory("cgm")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        guard qemu else {
            let host = try ProjectBuild.host(p, in: dir) { _ in }
            #expect(host.bitExact, "\(host.output)")
            return
        }
        for t in ["cortex-m4", "cortex-m7"] {
            let r = try ProjectBuild.target(p, try Self.profile(t), flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
            #expect(r.built && r.ran && r.bitExact, "\(name) on \(t): \(r)")
            #expect(r.sections[".nn_params"] == p.parameterBytes, "\(t) params")
            #expect(r.sections[".nn_arena"] == p.arenaBytes, "\(t) arena")
        }
    }

    @Test(.enabled(if: InstalledTools.armGCC, Comment(rawValue: InstalledTools.armGCCMissing)))
    func aBudgetTheLinkerRejectsSurfacesItsMessage() throws {
        let (model, x) = try fixtureModel("mobilenet_v1_025_32", seed: 1)
        let g = try OnnxImporter.load(Fixtures.url("mobilenet_v1_025_32.onnx"))
        let arena = MemoryModel(graph: g).arena { model.tensors[$0]?.quant.bits ?? 8 }
        let p = try CEmitter.emit(model: model, arena: arena, name: "tight", runtime: Self.runtime, testInput: x)
        let dir = Fixtures.temporaryDirectory("cgl")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        // A RAM region too small for the arena.
        var prof = try Self.profile("cortex-m4")
        prof.stackBytes = 512
        let r = try ProjectBuild.target(p, prof, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes / 4, in: dir) { _ in }
        #expect(!r.built)
        #expect(r.linkerMessage?.contains("region `RAM' overflowed") == true, "\(r.linkerMessage ?? "")")
    }
}
