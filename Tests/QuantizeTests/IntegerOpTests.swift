import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// The integer engine's ops without weights against plain definitions: NCHW indexing, Int64
/// arithmetic, floor division instead of shifts, at 2, 4 and 8 bits, signed and unsigned.
/// Non-square windows and distinct operands throughout.
@Suite struct IntegerOpTests {
    struct Grid: CustomStringConvertible {
        var inBits: Int, outBits: Int, signed: Bool
        var description: String { "in\(inBits) out\(outBits) \(signed ? "signed" : "unsigned")" }
        var inQ: ActivationQuant { ActivationQuant(bits: inBits, signed: signed, scale: 0.1) }
        var outQ: ActivationQuant { ActivationQuant(bits: outBits, signed: signed, scale: 0.1) }
    }

    static let grids: [Grid] = [2, 4, 8].flatMap { i in [2, 4, 8].flatMap { o in [false, true].map { Grid(inBits: i, outBits: o, signed: $0) } } }

    static func plainRequant(_ acc: Int64, _ m: Int32, _ t: Int32, _ lo: Int, _ hi: Int) -> Int64 {
        IntegerKernelTests.plainRequant(acc, Int64(m), Int64(t), Int64(lo), Int64(hi))
    }

    /// Random codes of `q`'s grid for a logical shape, NCHW.
    static func codes(_ shape: [Int], _ q: ActivationQuant, _ rng: inout SeededRandom) -> [Int32] {
        (0..<shape.reduce(1, *)).map { _ in Int32(Int.random(in: q.qmin...q.qmax, using: &rng)) }
    }

    /// Evaluates one op on NCHW codes: converts images to the engine's NHWC runs and back.
    static func evaluate(_ op: any IntegerOp, _ inputs: [(QTensor, [Int32])], output: QTensor) throws -> [Int32] {
        let ins = inputs.map { t, c in OpInput(tensor: t, codes: t.isImage ? toNHWC(c, t.shape) : c) }
        let y = try op.evaluate(ins, output: output, prepared: op.prepare(), threads: 1)
        return output.isImage ? toNCHW(y, output.shape) : y
    }

    static func toNHWC(_ v: [Int32], _ s: [Int]) -> [Int32] {
        let (c, h, w) = (s[1], s[2], s[3])
        var o = v
        for ch in 0..<c { for y in 0..<h { for x in 0..<w { o[(y * w + x) * c + ch] = v[(ch * h + y) * w + x] } } }
        return o
    }

    static func toNCHW(_ v: [Int32], _ s: [Int]) -> [Int32] {
        let (c, h, w) = (s[1], s[2], s[3])
        var o = v
        for ch in 0..<c { for y in 0..<h { for x in 0..<w { o[(ch * h + y) * w + x] = v[(y * w + x) * c + ch] } } }
        return o
    }

    /// A multiplier and shift that bring sums of about `typical` to the output grid's scale.
    static func requant(typical: Double, outBits: Int, _ rng: inout SeededRandom) -> (Int32, Int32) {
        let m = Int32.random(in: (1 << 30)...Int32.max, using: &rng)
        let t = Int32(30 + max(0, Int(log2(max(typical, 1)).rounded()) - max(0, outBits - 2)))
        return (m, t)
    }

    @Test(arguments: grids)
    func averagePoolOverANonSquareWindowMatchesDefinition(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 100 : 0))
        let (c, h, w, kh, kw, sh, sw) = (5, 7, 6, 3, 2, 2, 1)
        let (oh, ow) = ((h - kh) / sh + 1, (w - kw) / sw + 1)
        let x = Self.codes([1, c, h, w], k.inQ, &rng)
        let (m, t) = Self.requant(typical: Double(kh * kw) * Double(k.inQ.qmax), outBits: k.outBits, &rng)
        let g = WindowGeometry(inH: h, inW: w, inC: c, outH: oh, outW: ow, outC: c, kH: kh, kW: kw, strideH: sh, strideW: sw, padTop: 0, padLeft: 0)
        let op = QAveragePool(geometry: g, multiplier: m, shift: t, lo: Int32(k.outQ.qmin), hi: Int32(k.outQ.qmax))
        let y = try Self.evaluate(op, [(QTensor(name: "x", shape: [1, c, h, w], quant: k.inQ), x)],
                                  output: QTensor(name: "y", shape: [1, c, oh, ow], quant: k.outQ))
        for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
            var sum: Int64 = 0
            for ky in 0..<kh { for kx in 0..<kw { sum += Int64(x[(ch * h + oy * sh + ky) * w + ox * sw + kx]) } }
            #expect(Int64(y[(ch * oh + oy) * ow + ox]) == Self.plainRequant(sum, m, t, k.outQ.qmin, k.outQ.qmax), "\(k) at \(ch),\(oy),\(ox)")
        } } }
        #expect(Set(y).count >= 2, "\(k): constant output")
    }

    @Test(arguments: [2, 4, 8], [false, true])
    func maxPoolWithPaddingSkipsPaddedPositions(bits: Int, signed: Bool) throws {
        var rng = SeededRandom(seed: UInt64(bits) + (signed ? 50 : 0))
        let q = ActivationQuant(bits: bits, signed: signed, scale: 0.1)
        let (c, h, w, kh, kw, sh, sw, pt, pl) = (3, 6, 7, 2, 3, 2, 2, 1, 1)
        let (oh, ow) = ((h + pt - kh) / sh + 1, (w + pl + 1 - kw) / sw + 1)
        let x = Self.codes([1, c, h, w], q, &rng)
        let g = WindowGeometry(inH: h, inW: w, inC: c, outH: oh, outW: ow, outC: c, kH: kh, kW: kw, strideH: sh, strideW: sw, padTop: pt, padLeft: pl)
        let y = try Self.evaluate(QMaxPool(geometry: g), [(QTensor(name: "x", shape: [1, c, h, w], quant: q), x)],
                                  output: QTensor(name: "y", shape: [1, c, oh, ow], quant: q))
        for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
            var best = Int32.min
            for ky in 0..<kh { for kx in 0..<kw {
                let iy = oy * sh - pt + ky, ix = ox * sw - pl + kx
                if iy >= 0, iy < h, ix >= 0, ix < w { best = max(best, x[(ch * h + iy) * w + ix]) }
            } }
            #expect(y[(ch * oh + oy) * ow + ox] == best, "\(bits) bits at \(ch),\(oy),\(ox)")
        } } }
    }

    @Test(arguments: grids)
    func channelMulMatchesDefinition(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 200 : 300))
        let (c, h, w) = (6, 3, 4)
        let x = Self.codes([1, c, h, w], k.inQ, &rng)
        let gateQ = ActivationQuant(bits: k.outBits, signed: !k.signed, scale: 0.05)
        let gate = Self.codes([1, c, 1, 1], gateQ, &rng)
        let (m, t) = Self.requant(typical: Double(k.inQ.qmax * gateQ.qmax) / 2, outBits: k.outBits, &rng)
        let op = QChannelMul(multiplier: m, shift: t, lo: Int32(k.outQ.qmin), hi: Int32(k.outQ.qmax))
        let y = try Self.evaluate(op, [(QTensor(name: "x", shape: [1, c, h, w], quant: k.inQ), x), (QTensor(name: "g", shape: [1, c, 1, 1], quant: gateQ), gate)],
                                  output: QTensor(name: "y", shape: [1, c, h, w], quant: k.outQ))
        for i in 0..<x.count {
            #expect(Int64(y[i]) == Self.plainRequant(Int64(x[i]) * Int64(gate[i / (h * w)]), m, t, k.outQ.qmin, k.outQ.qmax), "\(k) at \(i)")
        }
    }

    @Test(arguments: grids)
    func concatOfChannelsRequantizesEachInput(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 400 : 500))
        let (h, w) = (3, 2)
        let shapes = [[1, 3, h, w], [1, 5, h, w]]
        let quants = [k.inQ, ActivationQuant(bits: k.outBits, signed: k.signed, scale: 0.3)]
        let xs = zip(shapes, quants).map { Self.codes($0, $1, &rng) }
        let ms = (0..<2).map { _ in Int32.random(in: (1 << 30)...Int32.max, using: &rng) }
        let ts: [Int32] = [31, 30]  // ×~0.5..1 and ×~1..2
        let op = QConcat(multipliers: ms, shifts: ts, lo: Int32(k.outQ.qmin), hi: Int32(k.outQ.qmax), storedAxis: 2)
        let y = try Self.evaluate(op, (0..<2).map { (QTensor(name: "x\($0)", shape: shapes[$0], quant: quants[$0]), xs[$0]) },
                                  output: QTensor(name: "y", shape: [1, 8, h, w], quant: k.outQ))
        for ch in 0..<8 { for p in 0..<(h * w) {
            let (src, sc) = ch < 3 ? (0, ch) : (1, ch - 3)
            let want = Self.plainRequant(Int64(xs[src][sc * h * w + p]), ms[src], ts[src], k.outQ.qmin, k.outQ.qmax)
            #expect(Int64(y[ch * h * w + p]) == want, "\(k) channel \(ch) pixel \(p)")
        } }
    }

    @Test(arguments: grids)
    func lookupReadsTheTableAtTheInputCode(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 600 : 700))
        let table = (k.inQ.qmin...k.inQ.qmax).map { _ in Int32(Int.random(in: k.outQ.qmin...k.outQ.qmax, using: &rng)) }
        let shape = [1, 4, 3, 5]
        let x = Self.codes(shape, k.inQ, &rng)
        let y = try Self.evaluate(QLookup(table: table, inputMin: Int32(k.inQ.qmin)), [(QTensor(name: "x", shape: shape, quant: k.inQ), x)],
                                  output: QTensor(name: "y", shape: shape, quant: k.outQ))
        #expect(y == x.map { table[Int($0) - k.inQ.qmin] })
    }

    @Test(arguments: [2, 4, 8], [false, true])
    func padSurroundsTheImageWithTheValue(bits: Int, signed: Bool) throws {
        var rng = SeededRandom(seed: UInt64(bits) + (signed ? 800 : 900))
        let q = ActivationQuant(bits: bits, signed: signed, scale: 0.1)
        let (c, h, w) = (3, 4, 2)
        let (top, left, bottom, right) = (1, 2, 0, 1)
        let (oh, ow) = (h + top + bottom, w + left + right)
        let x = Self.codes([1, c, h, w], q, &rng)
        let value = Int32(q.qmin + 1)
        let y = try Self.evaluate(QPad(pads: [top, left, bottom, right], value: value), [(QTensor(name: "x", shape: [1, c, h, w], quant: q), x)],
                                  output: QTensor(name: "y", shape: [1, c, oh, ow], quant: q))
        for ch in 0..<c { for oy in 0..<oh { for ox in 0..<ow {
            let iy = oy - top, ix = ox - left
            let want = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[(ch * h + iy) * w + ix] : value
            #expect(y[(ch * oh + oy) * ow + ox] == want)
        } } }
    }

    @Test(arguments: [2, 4, 8])
    func reshapeKeepsTheLogicalOrder(bits: Int) throws {
        var rng = SeededRandom(seed: UInt64(bits) + 1000)
        let q = ActivationQuant(bits: bits, signed: true, scale: 0.1)
        // An image flattened as ONNX flattens it: NCHW order.
        let x = Self.codes([1, 3, 2, 5], q, &rng)
        let flat = try Self.evaluate(QReshape(fromNHWC: true), [(QTensor(name: "x", shape: [1, 3, 2, 5], quant: q), x)],
                                     output: QTensor(name: "y", shape: [1, 30], quant: q))
        #expect(flat == x)
        // Rows of a matrix regrouped: the same codes.
        let m = Self.codes([1, 12], q, &rng)
        let rows = try Self.evaluate(QReshape(fromNHWC: false), [(QTensor(name: "m", shape: [1, 12], quant: q), m)],
                                     output: QTensor(name: "r", shape: [1, 3, 4], quant: q))
        #expect(rows == m)
    }

    @Test(arguments: grids)
    func addOfTwoDistinctOperandsMatchesDefinition(_ k: Grid) throws {
        var rng = SeededRandom(seed: UInt64(k.inBits * 10 + k.outBits) + (k.signed ? 1100 : 1200))
        let shape = [1, 5, 3, 2]
        let bQ = ActivationQuant(bits: k.outBits, signed: true, scale: 0.07)
        let a = Self.codes(shape, k.inQ, &rng), b = Self.codes(shape, bQ, &rng)
        #expect(a != b)
        let (m1, m2, t) = try sharedShift(0.1 / 0.12, 0.07 / 0.12)
        let outQ = ActivationQuant(bits: k.outBits, signed: true, scale: 0.12)
        let op = QAdd(m1: m1, m2: m2, shift: t, lo: Int32(outQ.qmin), hi: Int32(outQ.qmax))
        let y = try Self.evaluate(op, [(QTensor(name: "a", shape: shape, quant: k.inQ), a), (QTensor(name: "b", shape: shape, quant: bQ), b)],
                                  output: QTensor(name: "y", shape: shape, quant: outQ))
        for i in 0..<a.count {
            let sum = Int64(a[i]) * Int64(m1) + Int64(b[i]) * Int64(m2)
            #expect(Int64(y[i]) == IntegerKernelTests.plainRequant(sum, 1, Int64(t), Int64(outQ.qmin), Int64(outQ.qmax)), "\(k) at \(i)")
        }
    }
}
