/// Integer kernels of the reference (oracle) engine: the arithmetic contract of DESIGN.md,
/// written plainly. Activations arrive unpacked to Int32 in NHWC order; the engine packs and
/// unpacks around them, so the packed layout is exercised on every layer.
///
/// Requantization, the one shared primitive:
///   y = clamp(((Int64)acc · M + 2^(T−1)) >> T, lo, hi)
/// with M ∈ [2^30, 2^31) (or 0) and T ∈ [1, 62]; `>>` is arithmetic (floor), so ties round up.
@inline(__always)
public func requantize(_ acc: Int32, _ m: Int32, _ t: Int32, _ lo: Int32, _ hi: Int32) -> Int32 {
    let prod = Int64(acc) &* Int64(m) &+ (Int64(1) << Int64(t &- 1))
    let y = prod >> Int64(t)
    return Int32(truncatingIfNeeded: Swift.min(Swift.max(y, Int64(lo)), Int64(hi)))
}

/// Same rounding for an Int64 accumulator (residual add).
@inline(__always)
public func roundShift(_ acc: Int64, _ t: Int32, _ lo: Int32, _ hi: Int32) -> Int32 {
    let y = (acc &+ (Int64(1) << Int64(t &- 1))) >> Int64(t)
    return Int32(truncatingIfNeeded: Swift.min(Swift.max(y, Int64(lo)), Int64(hi)))
}

/// Convolution of any group count (standard, depthwise, pointwise) on NHWC Int32 codes.
/// `weights` is [cout][kh][kw][cin/groups] (OHWI). Padded positions read `padValue` (the
/// input zero-point; 0 except on the network input).
public func integerConv2d(
    input: UnsafePointer<Int32>, g: WindowGeometry, groups: Int, padValue: Int32,
    weights: UnsafePointer<Int32>, bias: UnsafePointer<Int32>, multiplier: UnsafePointer<Int32>, shift: UnsafePointer<Int32>,
    lo: Int32, hi: Int32, output: UnsafeMutablePointer<Int32>, threads: Int
) {
    let cinG = g.inC / groups, coutG = g.outC / groups
    let taps = g.kH &* g.kW &* cinG
    parallelChunks(g.outH, threads: threads) { rows in
        for oy in rows {
            for ox in 0..<g.outW {
                let o = output + (oy &* g.outW &+ ox) &* g.outC
                for co in 0..<g.outC {
                    let gr = co / coutG
                    var acc = bias[co]
                    let w = weights + co &* taps
                    for ky in 0..<g.kH {
                        let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                        for kx in 0..<g.kW {
                            let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                            let wOff: Int = (ky &* g.kW &+ kx) &* cinG
                            let wk = w + wOff
                            if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
                                if padValue != 0 { for ci in 0..<cinG { acc = acc &+ padValue &* wk[ci] } }
                                continue
                            }
                            let sOff: Int = (iy &* g.inW &+ ix) &* g.inC &+ gr &* cinG
                            let s = input + sOff
                            for ci in 0..<cinG { acc = acc &+ s[ci] &* wk[ci] }
                        }
                    }
                    o[co] = requantize(acc, multiplier[co], shift[co], lo, hi)
                }
            }
        }
    }
}

/// Fully connected: `rows` input rows of `inC` codes, weights [outC][inC].
public func integerFullyConnected(
    input: UnsafePointer<Int32>, rows: Int, inC: Int, outC: Int, weights: UnsafePointer<Int32>, bias: UnsafePointer<Int32>,
    multiplier: UnsafePointer<Int32>, shift: UnsafePointer<Int32>, lo: Int32, hi: Int32, output: UnsafeMutablePointer<Int32>
) {
    for r in 0..<rows {
        let x = input + r &* inC
        for o in 0..<outC {
            let w = weights + o &* inC
            var acc = bias[o]
            for i in 0..<inC { acc = acc &+ x[i] &* w[i] }
            output[r &* outC &+ o] = requantize(acc, multiplier[o], shift[o], lo, hi)
        }
    }
}

/// Residual add: y = roundShift(x1·M1 + x2·M2, T).
public func integerAdd(
    a: UnsafePointer<Int32>, b: UnsafePointer<Int32>, count: Int, m1: Int32, m2: Int32, shift: Int32, lo: Int32, hi: Int32,
    output: UnsafeMutablePointer<Int32>
) {
    for i in 0..<count {
        output[i] = roundShift(Int64(a[i]) &* Int64(m1) &+ Int64(b[i]) &* Int64(m2), shift, lo, hi)
    }
}

/// Element-wise product with a per-channel vector (squeeze-excite gate): y = requant(x·g).
public func integerChannelMul(
    x: UnsafePointer<Int32>, gate: UnsafePointer<Int32>, pixels: Int, channels: Int, multiplier: Int32, shift: Int32,
    lo: Int32, hi: Int32, output: UnsafeMutablePointer<Int32>
) {
    for p in 0..<pixels {
        for c in 0..<channels {
            let i = p &* channels &+ c
            output[i] = requantize(x[i] &* gate[c], multiplier, shift, lo, hi)
        }
    }
}

/// One input of a channel concatenation: its `inLength` channels of every run, requantized,
/// written at channel `offset` of the output's runs of `outLength`.
public func integerConcatPart(
    x: UnsafePointer<Int32>, runs: Int, inLength: Int, multiplier: Int32, shift: Int32, lo: Int32, hi: Int32,
    output: UnsafeMutablePointer<Int32>, outLength: Int, offset: Int
) {
    for p in 0..<runs {
        for c in 0..<inLength {
            output[p &* outLength &+ offset &+ c] = requantize(x[p &* inLength &+ c], multiplier, shift, lo, hi)
        }
    }
}

/// Average pooling over full windows (no padding): y = requant(Σ window, M, T) with
/// M/2^T = s_in / (s_out · window area). Global average pooling is the H×W window.
public func integerAveragePool(
    input: UnsafePointer<Int32>, g: WindowGeometry, multiplier: Int32, shift: Int32, lo: Int32, hi: Int32,
    output: UnsafeMutablePointer<Int32>
) {
    let c = g.outC
    for oy in 0..<g.outH {
        for ox in 0..<g.outW {
            let o = output + (oy &* g.outW &+ ox) &* c
            for ch in 0..<c {
                var acc: Int32 = 0
                for ky in 0..<g.kH {
                    let iy = oy &* g.strideH &+ ky
                    for kx in 0..<g.kW {
                        let ix = ox &* g.strideW &+ kx
                        acc = acc &+ input[(iy &* g.inW &+ ix) &* c &+ ch]
                    }
                }
                o[ch] = requantize(acc, multiplier, shift, lo, hi)
            }
        }
    }
}

/// Max pooling; padded positions are skipped. Codes compare directly (same scale in and out).
public func integerMaxPool(input: UnsafePointer<Int32>, g: WindowGeometry, output: UnsafeMutablePointer<Int32>) {
    let c = g.outC
    for oy in 0..<g.outH {
        for ox in 0..<g.outW {
            let o = output + (oy &* g.outW &+ ox) &* c
            for ch in 0..<c { o[ch] = Int32.min }
            for ky in 0..<g.kH {
                let iy = oy &* g.strideH &- g.padTop &+ ky
                if iy < 0 || iy >= g.inH { continue }
                for kx in 0..<g.kW {
                    let ix = ox &* g.strideW &- g.padLeft &+ kx
                    if ix < 0 || ix >= g.inW { continue }
                    let s = input + (iy &* g.inW &+ ix) &* c
                    for ch in 0..<c { o[ch] = Swift.max(o[ch], s[ch]) }
                }
            }
        }
    }
}
