import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// The ops without weights in generated C against the Swift engine, at every bit width: pad,
/// max pool (non-square, padded), average pool (non-square), lookup, concat of two different
/// grids, global pooling, channel mul, an add of two distinct tensors and a flatten.
@Suite struct OpChainCodegenTests {
    static let runtime = Fixtures.packageRoot.appendingPathComponent("pipeline/runtime")

    static func chain(bits: Int, seed: UInt64) throws -> (QuantizedModel, Tensor) {
        var rng = SeededRandom(seed: seed)
        let (c, h, w) = (5, 6, 7)
        let other = bits == 8 ? 4 : 8
        func q(_ b: Int, _ signed: Bool, _ s: Double) -> ActivationQuant { ActivationQuant(bits: b, signed: signed, scale: s) }
        func m() -> Int32 { Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        var tensors: [String: QTensor] = [:]
        func t(_ name: String, _ shape: [Int], _ quant: ActivationQuant) { tensors[name] = QTensor(name: name, shape: shape, quant: quant) }
        let xq = q(bits, true, 0.1)
        t("x", [1, c, h, w], xq)
        t("p", [1, c, h + 1, w + 3], xq)  // pad top 1, left 2, right 1
        let pool = WindowGeometry(inH: h + 1, inW: w + 3, inC: c, outH: (h + 1 + 1 - 2) / 2 + 1, outW: (w + 3 - 3) / 1 + 1, outC: c,
                                  kH: 2, kW: 3, strideH: 2, strideW: 1, padTop: 1, padLeft: 0)
        t("mp", [1, c, pool.outH, pool.outW], xq)
        let avg = WindowGeometry(inH: pool.outH, inW: pool.outW, inC: c, outH: pool.outH - 1, outW: (pool.outW - 3) / 2 + 1, outC: c,
                                 kH: 2, kW: 3, strideH: 1, strideW: 2, padTop: 0, padLeft: 0)
        let (ah, aw) = (avg.outH, avg.outW)
        t("ap", [1, c, ah, aw], q(other, true, 0.1))
        let lq = q(bits, false, 0.05)
        t("lk", [1, c, ah, aw], lq)
        t("cc", [1, 2 * c, ah, aw], q(bits, true, 0.1))
        t("gp", [1, 2 * c, 1, 1], q(other, true, 0.1))
        t("cm", [1, 2 * c, ah, aw], q(bits, true, 0.1))
        t("ad", [1, 2 * c, ah, aw], q(bits, true, 0.15))
        t("fl", [1, 2 * c * ah * aw], q(bits, true, 0.15))
        let apQ = tensors["ap"]!.quant
        let table = (apQ.qmin...apQ.qmax).map { _ in Int32(Int.random(in: lq.qmin...lq.qmax, using: &rng)) }
        let gpGeo = WindowGeometry(inH: ah, inW: aw, inC: 2 * c, outH: 1, outW: 1, outC: 2 * c, kH: ah, kW: aw, strideH: 1, strideW: 1, padTop: 0, padLeft: 0)
        let bitsOf = { (n: String) in tensors[n]!.quant }
        func lohi(_ n: String) -> (Int32, Int32) { (Int32(bitsOf(n).qmin), Int32(bitsOf(n).qmax)) }
        let (m1, m2, sh) = try sharedShift(0.1 / 0.15, 0.1 / 0.15 * 0.7)
        let layers: [QLayer] = [
            QLayer(name: "pad", op: .pad(QPad(pads: [1, 2, 0, 1], value: Int32(xq.qmin + 1))), inputs: ["x"], output: "p"),
            QLayer(name: "maxpool", op: .maxPool(QMaxPool(geometry: pool)), inputs: ["p"], output: "mp"),
            QLayer(name: "avgpool", op: .averagePool(QAveragePool(geometry: avg, multiplier: m(), shift: Int32(32 + bits - other), lo: lohi("ap").0, hi: lohi("ap").1)),
                   inputs: ["mp"], output: "ap"),
            QLayer(name: "lookup", op: .lookup(QLookup(table: table, inputMin: Int32(apQ.qmin))), inputs: ["ap"], output: "lk"),
            QLayer(name: "concat", op: .concat(QConcat(multipliers: [m(), m()], shifts: [31, Int32(31 + other - bits)], lo: lohi("cc").0, hi: lohi("cc").1, storedAxis: 2)),
                   inputs: ["lk", "ap"], output: "cc"),
            QLayer(name: "gap", op: .averagePool(QAveragePool(geometry: gpGeo, multiplier: m(), shift: Int32(31 + Int(log2(Double(ah * aw)).rounded()) + bits - other),
                                                             lo: lohi("gp").0, hi: lohi("gp").1)), inputs: ["cc"], output: "gp"),
            QLayer(name: "gate", op: .channelMul(QChannelMul(multiplier: m(), shift: Int32(31 + other - 3), lo: lohi("cm").0, hi: lohi("cm").1)),
                   inputs: ["cc", "gp"], output: "cm"),
            QLayer(name: "add", op: .add(QAdd(m1: m1, m2: m2, shift: sh, lo: lohi("ad").0, hi: lohi("ad").1)), inputs: ["cm", "cc"], output: "ad"),
            QLayer(name: "flatten", op: .reshape(QReshape(fromNHWC: true)), inputs: ["ad"], output: "fl"),
        ]
        let model = QuantizedModel(name: "chain", input: "x", outputs: ["fl"], tensors: tensors, layers: layers, outputSoftmaxAxis: nil)
        let x = Tensor(shape: [1, c, h, w], data: (0..<c * h * w).map { _ in Float.random(in: -1...1, using: &rng) * Float(xq.qmax) * 0.1 })
        return (model, x)
    }

    static func build(_ model: QuantizedModel, _ x: Tensor, name: String) throws -> (CProject, URL) {
        let steps = model.layers.count + 1
        let arena = ArenaPlan(buffers: ([model.input] + model.layers.map(\.output)).map { (name: $0, size: model.tensors[$0]!.bytes, first: 0, last: steps) })
        let p = try CEmitter.emit(model: model, arena: arena, name: name, runtime: runtime, testInput: x)
        let dir = Fixtures.temporaryDirectory("chain")
        try p.write(to: dir)
        return (p, dir)
    }

    @Test(arguments: [2, 4, 8])
    func opsWithoutWeightsAreBitExactOnTheHost(bits: Int) throws {
        let (model, x) = try Self.chain(bits: bits, seed: UInt64(bits))
        // Every tensor takes several codes (a constant tensor would hide a wrong kernel).
        let engine = try IntegerEngine(model: model)
        let env = try engine.run(packedInput: engine.quantizeInput(x))
        for l in model.layers where l.name != "flatten" {
            let t = try #require(model.tensors[l.output])
            let codes = unpack(try #require(env[l.output]), runs: t.runs, runLength: t.runLength, bits: t.quant.bits, signed: t.quant.signed)
            #expect(Set(codes).count >= 2, "\(bits) bits: \(l.name) is constant")
        }
        let (p, dir) = try Self.build(model, x, name: "chain\(bits)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
    }

    @Test(.enabled(if: Toolchain.find("arm-none-eabi-gcc") != nil && Toolchain.find("qemu-system-arm") != nil), arguments: [2, 4, 8])
    func opsWithoutWeightsAreBitExactOnCortexM4(bits: Int) throws {
        let (model, x) = try Self.chain(bits: bits, seed: UInt64(bits))
        let (p, dir) = try Self.build(model, x, name: "chainm4_\(bits)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: Fixtures.packageRoot.appendingPathComponent("pipeline/targets/cortex-m4.json")))
        let r = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir) { _ in }
        #expect(r.built && r.ran && r.bitExact, "\(r)")
    }
}
