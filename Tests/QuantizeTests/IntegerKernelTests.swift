import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// Every integer op of the engine against a plain, slow definition: NCHW indexing, Int64
/// arithmetic, floor division instead of shifts, over every combination of input, weight and
/// output bits in {2, 4, 8}.
@Suite struct IntegerKernelTests {
    static let bitCombos: [(Int, Int, Int)] = [2, 4, 8].flatMap { i in [2, 4, 8].flatMap { w in [2, 4, 8].map { o in (i, w, o) } } }

    /// floor((acc·M + 2^(T−1)) / 2^T), clamped: the contract's formula without shifts.
    static func plainRequant(_ acc: Int64, _ m: Int64, _ t: Int64, _ lo: Int64, _ hi: Int64) -> Int64 {
        let num = acc * m + (Int64(1) << (t - 1))
        let den = Int64(1) << t
        var q = num / den
        if num % den != 0 && num < 0 { q -= 1 }
        return min(max(q, lo), hi)
    }

    @Test func requantizeRoundsHalfUpAndSaturates() {
        // M/2^T = 0.5: ties go up (toward +∞), for negative accumulators too.
        let m: Int32 = 1 << 30, t: Int32 = 31
        #expect(requantize(3, m, t, -128, 127) == 2)    // 1.5 → 2
        #expect(requantize(-3, m, t, -128, 127) == -1)  // −1.5 → −1
        #expect(requantize(-5, m, t, -128, 127) == -2)  // −2.5 → −2
        #expect(requantize(1000, m, t, -8, 7) == 7)     // saturates high
        #expect(requantize(-1000, m, t, 0, 15) == 0)    // saturates low
        var rng = SeededRandom(seed: 9)
        for _ in 0..<20000 {
            let acc = Int32.random(in: -(1 << 24)...(1 << 24), using: &rng)
            let mm = Int32.random(in: (1 << 30)...Int32.max, using: &rng)
            let tt = Int32.random(in: 1...62, using: &rng)
            let got = requantize(acc, mm, tt, -128, 255)
            #expect(Int64(got) == Self.plainRequant(Int64(acc), Int64(mm), Int64(tt), -128, 255), "acc \(acc) M \(mm) T \(tt)")
        }
    }

    @Test func fixedMultiplierEncodesTheRatio() throws {
        for r in [1e-9, 0.000123, 0.25, 0.5, 0.7, 1.0, 3.5, 1234.5] {
            let f = try FixedMultiplier(r)
            #expect(f.shift >= 1 && f.shift <= 62)
            #expect(abs(f.value - r) <= r * 1e-8 + 1e-18, "r \(r) → \(f.value)")
        }
        #expect(throws: QuantizeError.self) { _ = try FixedMultiplier(.nan) }
    }

    @Test(arguments: [(2, 1), (2, 3), (2, 7), (4, 1), (4, 5), (4, 9), (8, 3)])
    func packingRoundTrips(bits: Int, runLength: Int) {
        var rng = SeededRandom(seed: UInt64(bits * 100 + runLength))
        for signed in [false, true] {
            let lo = signed ? -(1 << (bits - 1)) : 0, hi = signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1
            let runs = 5
            let v = (0..<runs * runLength).map { _ in Int32(Int.random(in: lo...hi, using: &rng)) }
            let packed = pack(v, runs: runs, runLength: runLength, bits: bits)
            #expect(packed.count == runs * ((runLength * bits + 7) / 8))
            #expect(unpack(packed, runs: runs, runLength: runLength, bits: bits, signed: signed) == v)
        }
        // LSB-first: [1, 2, 3, 4] at 4 bits is [0x21, 0x43] (CMSIS-NN's int4 convention).
        #expect(pack([1, 2, 3, 4], runs: 1, runLength: 4, bits: 4) == [0x21, 0x43])
        #expect(pack([1, 2, 3, 0, 1], runs: 1, runLength: 5, bits: 2) == [0b00_11_10_01, 0b01])
    }

    struct ConvCase: CustomStringConvertible {
        var inBits: Int, wBits: Int, outBits: Int, depthwise: Bool, seed: UInt64
        var description: String { "in\(inBits) w\(wBits) out\(outBits) \(depthwise ? "dw" : "conv") seed \(seed)" }
    }

    static let convCases: [ConvCase] = bitCombos.flatMap { c in
        [false, true].map { ConvCase(inBits: c.0, wBits: c.1, outBits: c.2, depthwise: $0, seed: UInt64(c.0 * 100 + c.1 * 10 + c.2)) }
    }

    @Test(arguments: convCases)
    func convolutionMatchesDefinition(_ k: ConvCase) throws {
        var rng = SeededRandom(seed: k.seed)
        let cin = [3, 5, 7][Int(k.seed % 3)], h = 7, w = 6, kh = 3, stride = 2
        // Non-square windows and strides: 3×3, 3×2 or 3×1 kernels, stride 2 down and 1 across.
        let kw = [3, 2, 1][Int(k.seed % 3)], strideW = 1
        let cout = k.depthwise ? cin : [4, 5, 9][Int(k.seed % 3)]
        let groups = k.depthwise ? cin : 1
        let pads = [1, 0, 1, 1]  // top, left, bottom, right: asymmetric
        let oh = (h + pads[0] + pads[2] - kh) / stride + 1, ow = (w + pads[1] + pads[3] - kw) / strideW + 1
        let inSigned = k.seed % 2 == 0
        let inQ = ActivationQuant(bits: k.inBits, signed: inSigned, scale: 0.1)
        let outQ = ActivationQuant(bits: k.outBits, signed: true, scale: 0.1)
        let wq = (1 << (k.wBits - 1))
        let cinG = cin / groups
        // OIHW codes, the full signed range including −2^(b−1).
        let wOIHW = (0..<cout * cinG * kh * kw).map { _ in Int32(Int.random(in: -wq...(wq - 1), using: &rng)) }
        let bias = (0..<cout).map { _ in Int32.random(in: -20...20, using: &rng) }
        let mult = (0..<cout).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        let terms = cinG * kh * kw
        let shift = (0..<cout).map { _ in Int32.random(in: requantShifts(terms: terms, xMagnitude: Double(1 << (k.inBits - 1)) / 2, wBits: k.wBits, outBits: k.outBits), using: &rng) }
        var ordered = [Int32](repeating: 0, count: wOIHW.count)
        for co in 0..<cout { for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
            let src = wOIHW[((co * cinG + ci) * kh + ky) * kw + kx]
            if k.depthwise { ordered[(ky * kw + kx) * cout + co] = src } else { ordered[((co * kh + ky) * kw + kx) * cinG + ci] = src }
        } } } }
        let packedW = k.depthwise ? pack(ordered, runs: kh * kw, runLength: cout, bits: k.wBits) : pack(ordered, runs: cout, runLength: kh * kw * cin, bits: k.wBits)
        let geo = WindowGeometry(inH: h, inW: w, inC: cin, outH: oh, outW: ow, outC: cout, kH: kh, kW: kw, strideH: stride, strideW: strideW,
                                 padTop: pads[0], padLeft: pads[1])
        let conv = QConv(geometry: geo, groups: groups, depthwise: k.depthwise, weightBits: k.wBits, weights: packedW,
                         weightScales: [Double](repeating: 1, count: cout), bias: bias, multiplier: mult, shift: shift,
                         lo: Int32(outQ.qmin), hi: Int32(outQ.qmax), padValue: 0)
        let model = QuantizedModel(
            name: "t", input: "x", outputs: ["y"],
            tensors: ["x": QTensor(name: "x", shape: [1, cin, h, w], quant: inQ), "y": QTensor(name: "y", shape: [1, cout, oh, ow], quant: outQ)],
            layers: [QLayer(name: "conv", op: .conv(conv), inputs: ["x"], output: "y")], outputSoftmaxAxis: nil)
        // Input codes in NCHW, packed NHWC.
        let xNCHW = (0..<cin * h * w).map { _ in Int32(Int.random(in: inQ.qmin...inQ.qmax, using: &rng)) }
        var xNHWC = xNCHW
        for c in 0..<cin { for y in 0..<h { for x in 0..<w { xNHWC[(y * w + x) * cin + c] = xNCHW[(c * h + y) * w + x] } } }
        let env = try IntegerEngine(model: model).run(packedInput: pack(xNHWC, runs: h * w, runLength: cin, bits: k.inBits))
        let y = unpack(try #require(env["y"]), runs: oh * ow, runLength: cout, bits: k.outBits, signed: true)
        var mismatches = 0
        for co in 0..<cout {
            let g = co / (cout / groups)
            for oy in 0..<oh { for ox in 0..<ow {
                var acc = Int64(bias[co])
                for ci in 0..<cinG { for ky in 0..<kh { for kx in 0..<kw {
                    let iy = oy * stride - pads[0] + ky, ix = ox * strideW - pads[1] + kx
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    acc += Int64(xNCHW[((g * cinG + ci) * h + iy) * w + ix]) * Int64(wOIHW[((co * cinG + ci) * kh + ky) * kw + kx])
                } } }
                let want = Self.plainRequant(acc, Int64(mult[co]), Int64(shift[co]), Int64(outQ.qmin), Int64(outQ.qmax))
                if Int64(y[(oy * ow + ox) * cout + co]) != want { mismatches += 1 }
            } }
        }
        #expect(mismatches == 0, "\(k): \(mismatches) mismatching outputs")
        // Outputs that saturated would hide a wrong sum.
        #expect(codesVary(y.map { Int($0) }, lo: outQ.qmin, hi: outQ.qmax, bits: k.outBits), "\(k): outputs saturate")
    }

    @Test(arguments: bitCombos)
    func fullyConnectedAddPoolMatchDefinitions(inBits: Int, wBits: Int, outBits: Int) throws {
        var rng = SeededRandom(seed: UInt64(inBits * 100 + wBits * 10 + outBits))
        let inC = 13, outC = 7
        let inQ = ActivationQuant(bits: inBits, signed: true, scale: 1), outQ = ActivationQuant(bits: outBits, signed: true, scale: 1)
        let wq = 1 << (wBits - 1)
        let wv = (0..<outC * inC).map { _ in Int32(Int.random(in: -wq...(wq - 1), using: &rng)) }
        let bias = (0..<outC).map { _ in Int32.random(in: -20...20, using: &rng) }
        let mult = (0..<outC).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        let shift = (0..<outC).map { _ in Int32.random(in: requantShifts(terms: inC, xMagnitude: Double(1 << (inBits - 1)) / 2, wBits: wBits, outBits: outBits), using: &rng) }
        let fc = QFullyConnected(inC: inC, outC: outC, weightBits: wBits, weights: pack(wv, runs: outC, runLength: inC, bits: wBits),
                                 weightScales: [Double](repeating: 1, count: outC), bias: bias, multiplier: mult, shift: shift,
                                 lo: Int32(outQ.qmin), hi: Int32(outQ.qmax))
        // x [1,13] → fc → y [1,7]; add(y, y2) with a second fc-free path is covered by `add` below.
        let (m1, m2, t) = try sharedShift(0.75, 0.3)
        let model = QuantizedModel(
            name: "t", input: "x", outputs: ["z"],
            tensors: ["x": QTensor(name: "x", shape: [1, inC], quant: inQ), "y": QTensor(name: "y", shape: [1, outC], quant: outQ),
                      "z": QTensor(name: "z", shape: [1, outC], quant: outQ)],
            layers: [QLayer(name: "fc", op: .fullyConnected(fc), inputs: ["x"], output: "y"),
                     QLayer(name: "add", op: .add(QAdd(m1: m1, m2: m2, shift: t, lo: Int32(outQ.qmin), hi: Int32(outQ.qmax))), inputs: ["y", "y"], output: "z")],
            outputSoftmaxAxis: nil)
        let x = (0..<inC).map { _ in Int32(Int.random(in: inQ.qmin...inQ.qmax, using: &rng)) }
        let env = try IntegerEngine(model: model).run(packedInput: pack(x, runs: 1, runLength: inC, bits: inBits))
        let y = unpack(try #require(env["y"]), runs: 1, runLength: outC, bits: outBits, signed: true)
        let z = unpack(try #require(env["z"]), runs: 1, runLength: outC, bits: outBits, signed: true)
        for o in 0..<outC {
            var acc = Int64(bias[o])
            for i in 0..<inC { acc += Int64(x[i]) * Int64(wv[o * inC + i]) }
            #expect(Int64(y[o]) == Self.plainRequant(acc, Int64(mult[o]), Int64(shift[o]), Int64(outQ.qmin), Int64(outQ.qmax)))
            let p1: Int64 = Int64(y[o]) * Int64(m1)
            let p2: Int64 = Int64(y[o]) * Int64(m2)
            let sum = p1 + p2
            #expect(Int64(z[o]) == Self.plainRequant(sum, 1, Int64(t), Int64(outQ.qmin), Int64(outQ.qmax)))
        }
    }
}
