import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// The integer ops real exports need beyond the classic CNN set, against plain definitions:
/// concatenation along any axis, padding of channels, an activation with a constant.
@Suite struct RealExportOpTests {
    typealias Grid = IntegerOpTests.Grid

    @Test(arguments: IntegerOpTests.grids, [1, 2, 3])
    func concatAlongAnyImageAxisMatchesDefinition(_ k: Grid, axis: Int) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits + axis * 1000) + (k.signed ? 7 : 0))
        var s0 = [1, 3, 4, 2], s1 = [1, 3, 4, 2]
        s1[axis] = 5
        var so = s0
        so[axis] = s0[axis] + s1[axis]
        let quants = [k.inQ, ActivationQuant(bits: k.outBits, signed: k.signed, scale: 0.3)]
        let xs = [IntegerOpTests.codes(s0, quants[0], &rng), IntegerOpTests.codes(s1, quants[1], &rng)]
        let ms = (0..<2).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        let ts: [Int32] = [31, 30]
        let op = QConcat(multipliers: ms, shifts: ts, lo: Int32(k.outQ.qmin), hi: Int32(k.outQ.qmax), storedAxis: [1: 2, 2: 0, 3: 1][axis]!)
        let y = try IntegerOpTests.evaluate(op, [(QTensor(name: "a", shape: s0, quant: quants[0]), xs[0]), (QTensor(name: "b", shape: s1, quant: quants[1]), xs[1])],
                                            output: QTensor(name: "y", shape: so, quant: k.outQ))
        // NCHW: the output at (c, h, w) comes from input 0 below its extent on `axis`, else input 1.
        for c in 0..<so[1] { for h in 0..<so[2] { for w in 0..<so[3] {
            var idx = [0, c, h, w]
            let src = idx[axis] < s0[axis] ? 0 : 1
            if src == 1 { idx[axis] -= s0[axis] }
            let s = src == 0 ? s0 : s1
            let v = xs[src][(idx[1] * s[2] + idx[2]) * s[3] + idx[3]]
            let want = IntegerOpTests.plainRequant(Int64(v), ms[src], ts[src], k.outQ.qmin, k.outQ.qmax)
            #expect(Int64(y[(c * so[2] + h) * so[3] + w]) == want, "\(k) axis \(axis) at \(c),\(h),\(w)")
        } } }
    }

    @Test(arguments: [2, 4, 8])
    func concatOfDetectorHeadsFollowsOneAnother(bits: Int) throws {
        var rng = SeededRandom(seed: UInt64(bits) + 77)
        let q = ActivationQuant(bits: bits, signed: true, scale: 0.1)
        let a = IntegerOpTests.codes([1, 6, 4], q, &rng), b = IntegerOpTests.codes([1, 3, 4], q, &rng)
        let one = try FixedMultiplier(1)
        let op = QConcat(multipliers: [one.multiplier, one.multiplier], shifts: [one.shift, one.shift], lo: Int32(q.qmin), hi: Int32(q.qmax), storedAxis: 1)
        let y = try IntegerOpTests.evaluate(op, [(QTensor(name: "a", shape: [1, 6, 4], quant: q), a), (QTensor(name: "b", shape: [1, 3, 4], quant: q), b)],
                                            output: QTensor(name: "y", shape: [1, 9, 4], quant: q))
        #expect(y == a + b)
    }

    @Test(arguments: [2, 4, 8], [false, true])
    func padOfChannelsAndSidesMatchesDefinition(bits: Int, signed: Bool) throws {
        var rng = SeededRandom(seed: UInt64(bits) + (signed ? 300 : 400))
        let q = ActivationQuant(bits: bits, signed: signed, scale: 0.1)
        let (c, h, w) = (3, 2, 4)
        let (cb, ca, top, left, bottom, right) = (2, 3, 1, 0, 0, 1)
        let (oc, oh, ow) = (c + cb + ca, h + top + bottom, w + left + right)
        let x = IntegerOpTests.codes([1, c, h, w], q, &rng)
        let op = QPad(pads: [top, left, bottom, right], channelsBefore: cb, channelsAfter: ca, value: 0)
        let y = try IntegerOpTests.evaluate(op, [(QTensor(name: "x", shape: [1, c, h, w], quant: q), x)],
                                            output: QTensor(name: "y", shape: [1, oc, oh, ow], quant: q))
        for ch in 0..<oc { for oy in 0..<oh { for ox in 0..<ow {
            let ic = ch - cb, iy = oy - top, ix = ox - left
            let want = ic >= 0 && ic < c && iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ic * h + iy) * w + ix] : 0
            #expect(y[(ch * oh + oy) * ow + ox] == want)
        } } }
    }

    @Test(arguments: IntegerOpTests.grids)
    func channelAffineMatchesDefinition(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 500 : 600))
        let shape = [1, 4, 3, 2]
        let x = IntegerOpTests.codes(shape, k.inQ, &rng)
        let w: [Int32] = [4096, -4096, 0, 2048]
        let bias = (0..<4).map { _ in Int32.random(in: -20000...20000, using: &rng) }
        let m = (0..<4).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        let t = (0..<4).map { _ in Int32(12 + 31 + Int.random(in: -1...1, using: &rng)) - Int32(max(0, k.inBits - k.outBits)) }
        let op = QChannelAffine(weight: w, bias: bias, multiplier: m, shift: t, lo: Int32(k.outQ.qmin), hi: Int32(k.outQ.qmax))
        let y = try IntegerOpTests.evaluate(op, [(QTensor(name: "x", shape: shape, quant: k.inQ), x)], output: QTensor(name: "y", shape: shape, quant: k.outQ))
        for c in 0..<4 { for p in 0..<6 {
            let acc = Int64(w[c]) * Int64(x[c * 6 + p]) + Int64(bias[c])
            #expect(Int64(y[c * 6 + p]) == IntegerOpTests.plainRequant(acc, m[c], t[c], k.outQ.qmin, k.outQ.qmax), "\(k) at \(c),\(p)")
        } }
    }
}
