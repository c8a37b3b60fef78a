/// Float 2-D convolutions over NHWC tensors (batch 1).
///
/// Three paths, chosen by the engine when it prepares a layer:
/// - `conv2dIm2col`: groups == 1 (the stem, full convolutions); each output row becomes a patch
///   matrix and goes through the GEMM, weights packed as panels of the [kh·kw·cin][cout] matrix.
/// - `depthwiseConv2d`: groups == cin == cout; channel-innermost, so the channel loop vectorises.
/// - `groupedConv2d`: anything else (groups with several channels each, depth multipliers);
///   a plain direct loop, correct but not tuned.

/// Shape and geometry of one convolution or pooling window; pads are top/left; bottom/right
/// follow from the output size except where average pooling counts padded pixels.
public struct WindowGeometry: Sendable, Hashable, Codable {
    public var inH: Int, inW: Int, inC: Int
    public var outH: Int, outW: Int, outC: Int
    public var kH: Int, kW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    public var padTop: Int, padLeft: Int
    /// Only average pooling with `count_include_pad` reads these.
    public var padBottom: Int, padRight: Int

    public init(
        inH: Int, inW: Int, inC: Int, outH: Int, outW: Int, outC: Int, kH: Int, kW: Int,
        strideH: Int, strideW: Int, dilationH: Int = 1, dilationW: Int = 1, padTop: Int, padLeft: Int,
        padBottom: Int = 0, padRight: Int = 0
    ) {
        self.inH = inH; self.inW = inW; self.inC = inC
        self.outH = outH; self.outW = outW; self.outC = outC
        self.kH = kH; self.kW = kW
        self.strideH = strideH; self.strideW = strideW
        self.dilationH = dilationH; self.dilationW = dilationW
        self.padTop = padTop; self.padLeft = padLeft
        self.padBottom = padBottom; self.padRight = padRight
    }
}

/// groups == 1. `weights` packs B[(ky·kW + kx)·inC + ci][co].
public func conv2dIm2col(
    input: UnsafePointer<Float>, g: WindowGeometry, weights: PackedPanels, bias: UnsafePointer<Float>?,
    output: UnsafeMutablePointer<Float>, lo: Float, hi: Float, threads: Int
) {
    let kDim = g.kH &* g.kW &* g.inC
    parallelChunks(g.outH, threads: threads) { rows in
        var patch = [Float](repeating: 0, count: g.outW &* kDim)
        patch.withUnsafeMutableBufferPointer { pb in
            let pm = pb.baseAddress!
            for oy in rows {
                for ox in 0..<g.outW {
                    let dst = pm + ox &* kDim
                    for ky in 0..<g.kH {
                        let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                        for kx in 0..<g.kW {
                            let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                            let d = dst + (ky &* g.kW &+ kx) &* g.inC
                            if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW {
                                for ci in 0..<g.inC { d[ci] = 0 }
                            } else {
                                let s = input + (iy &* g.inW &+ ix) &* g.inC
                                for ci in 0..<g.inC { d[ci] = s[ci] }
                            }
                        }
                    }
                }
                gemm(a: pm, lda: kDim, rows: g.outW, b: weights, bias: bias,
                     c: output + oy &* g.outW &* g.outC, ldc: g.outC, lo: lo, hi: hi, threads: 1)
            }
        }
    }
}

/// groups == inC == outC. `weights` is [kH][kW][C].
///
/// Channel-innermost: for each output pixel the valid taps are found once, then 32 channels at a
/// time accumulate in four vector registers over those taps (bias first, clamp last), so the
/// output is written once and padding costs no per-tap test.
public func depthwiseConv2d(
    input: UnsafePointer<Float>, g: WindowGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    output: UnsafeMutablePointer<Float>, lo: Float, hi: Float, threads: Int
) {
    let c = g.outC
    parallelChunks(g.outH, threads: threads) { rows in
        for oy in rows {
            let iy0 = oy &* g.strideH &- g.padTop
            var ky0 = 0, ky1 = g.kH
            while ky0 < ky1 && iy0 &+ ky0 &* g.dilationH < 0 { ky0 = ky0 &+ 1 }
            while ky1 > ky0 && iy0 &+ (ky1 &- 1) &* g.dilationH >= g.inH { ky1 = ky1 &- 1 }
            var ox = 0
            while ox < g.outW {
                // Four pixels whose every tap lies inside the row share each weight load.
                if ox &+ 4 <= g.outW && ox &* g.strideW >= g.padLeft
                    && (ox &+ 3) &* g.strideW &- g.padLeft &+ (g.kW &- 1) &* g.dilationW < g.inW {
                    depthwiseFour(input, g, weights, bias, output, oy: oy, ox: ox, ky0: ky0, ky1: ky1, lo: lo, hi: hi)
                    ox = ox &+ 4
                    continue
                }
                defer { ox = ox &+ 1 }
                let ix0 = ox &* g.strideW &- g.padLeft
                var kx0 = 0, kx1 = g.kW
                while kx0 < kx1 && ix0 &+ kx0 &* g.dilationW < 0 { kx0 = kx0 &+ 1 }
                while kx1 > kx0 && ix0 &+ (kx1 &- 1) &* g.dilationW >= g.inW { kx1 = kx1 &- 1 }
                let o = output + (oy &* g.outW &+ ox) &* c
                // Input and weights of tap (ky, kx), channel 0.
                @inline(__always) func src(_ ky: Int, _ kx: Int) -> UnsafePointer<Float> {
                    input + ((iy0 &+ ky &* g.dilationH) &* g.inW &+ ix0 &+ kx &* g.dilationW) &* c
                }
                @inline(__always) func wt(_ ky: Int, _ kx: Int) -> UnsafePointer<Float> { weights + (ky &* g.kW &+ kx) &* c }
                var ch = 0
                while ch &+ 32 <= c {
                    var a0 = Vec8(repeating: 0), a1 = a0, a2 = a0, a3 = a0
                    if let bias { a0 = load8(bias + ch); a1 = load8(bias + (ch &+ 8)); a2 = load8(bias + (ch &+ 16)); a3 = load8(bias + (ch &+ 24)) }
                    for ky in ky0..<ky1 {
                        for kx in kx0..<kx1 {
                            let s = src(ky, kx) + ch, w = wt(ky, kx) + ch
                            a0 = madd(load8(s), load8(w), a0)
                            a1 = madd(load8(s + 8), load8(w + 8), a1)
                            a2 = madd(load8(s + 16), load8(w + 16), a2)
                            a3 = madd(load8(s + 24), load8(w + 24), a3)
                        }
                    }
                    store8(clamp8(a0, lo, hi), o + ch); store8(clamp8(a1, lo, hi), o + (ch &+ 8))
                    store8(clamp8(a2, lo, hi), o + (ch &+ 16)); store8(clamp8(a3, lo, hi), o + (ch &+ 24))
                    ch = ch &+ 32
                }
                while ch &+ 8 <= c {
                    var a0 = bias.map { load8($0 + ch) } ?? Vec8(repeating: 0)
                    for ky in ky0..<ky1 {
                        for kx in kx0..<kx1 { a0 = madd(load8(src(ky, kx) + ch), load8(wt(ky, kx) + ch), a0) }
                    }
                    store8(clamp8(a0, lo, hi), o + ch)
                    ch = ch &+ 8
                }
                while ch < c {
                    var a0 = bias?[ch] ?? 0
                    for ky in ky0..<ky1 {
                        for kx in kx0..<kx1 { a0 = a0 + src(ky, kx)[ch] * wt(ky, kx)[ch] }
                    }
                    o[ch] = Swift.min(Swift.max(a0, lo), hi)
                    ch = ch &+ 1
                }
            }
        }
    }
}

/// Depthwise output pixels (oy, ox…ox+3), all horizontal taps inside the input, rows
/// `ky0..<ky1` of the window inside it.
@inline(__always)
func depthwiseFour(
    _ input: UnsafePointer<Float>, _ g: WindowGeometry, _ weights: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
    _ output: UnsafeMutablePointer<Float>, oy: Int, ox: Int, ky0: Int, ky1: Int, lo: Float, hi: Float
) {
    let c = g.outC
    let iy0 = oy &* g.strideH &- g.padTop
    let ix0 = ox &* g.strideW &- g.padLeft
    let step = g.strideW &* c
    let o = output + (oy &* g.outW &+ ox) &* c
    var ch = 0
    // Two channel vectors × four pixels: eight accumulators keep both FMA units busy.
    while ch &+ 2 &* lanes <= c {
        var a0 = bias.map { loadW($0 + ch) } ?? VecW(repeating: 0)
        var b0 = bias.map { loadW($0 + (ch &+ lanes)) } ?? VecW(repeating: 0)
        var a1 = a0, a2 = a0, a3 = a0, b1 = b0, b2 = b0, b3 = b0
        for ky in ky0..<ky1 {
            let sOff: Int = ((iy0 &+ ky &* g.dilationH) &* g.inW &+ ix0) &* c &+ ch
            let wOff: Int = ky &* g.kW &* c &+ ch
            let srow = input + sOff, wrow = weights + wOff
            for kx in 0..<g.kW {
                let w = loadW(wrow + kx &* c), v = loadW(wrow + (kx &* c &+ lanes))
                let s = srow + kx &* g.dilationW &* c
                a0 = maddW(loadW(s), w, a0)
                b0 = maddW(loadW(s + lanes), v, b0)
                a1 = maddW(loadW(s + step), w, a1)
                b1 = maddW(loadW(s + (step &+ lanes)), v, b1)
                a2 = maddW(loadW(s + 2 &* step), w, a2)
                b2 = maddW(loadW(s + (2 &* step &+ lanes)), v, b2)
                a3 = maddW(loadW(s + 3 &* step), w, a3)
                b3 = maddW(loadW(s + (3 &* step &+ lanes)), v, b3)
            }
        }
        storeW(clampW(a0, lo, hi), o + ch)
        storeW(clampW(b0, lo, hi), o + (ch &+ lanes))
        storeW(clampW(a1, lo, hi), o + (c &+ ch))
        storeW(clampW(b1, lo, hi), o + (c &+ ch &+ lanes))
        storeW(clampW(a2, lo, hi), o + (2 &* c &+ ch))
        storeW(clampW(b2, lo, hi), o + (2 &* c &+ ch &+ lanes))
        storeW(clampW(a3, lo, hi), o + (3 &* c &+ ch))
        storeW(clampW(b3, lo, hi), o + (3 &* c &+ ch &+ lanes))
        ch = ch &+ 2 &* lanes
    }
    while ch &+ lanes <= c {
        var a0 = bias.map { loadW($0 + ch) } ?? VecW(repeating: 0)
        var a1 = a0, a2 = a0, a3 = a0
        for ky in ky0..<ky1 {
            let sOff: Int = ((iy0 &+ ky &* g.dilationH) &* g.inW &+ ix0) &* c &+ ch
            let wOff: Int = ky &* g.kW &* c &+ ch
            let srow = input + sOff, wrow = weights + wOff
            for kx in 0..<g.kW {
                let w = loadW(wrow + kx &* c)
                let s = srow + kx &* g.dilationW &* c
                a0 = maddW(loadW(s), w, a0)
                a1 = maddW(loadW(s + step), w, a1)
                a2 = maddW(loadW(s + 2 &* step), w, a2)
                a3 = maddW(loadW(s + 3 &* step), w, a3)
            }
        }
        storeW(clampW(a0, lo, hi), o + ch)
        storeW(clampW(a1, lo, hi), o + (c &+ ch))
        storeW(clampW(a2, lo, hi), o + (2 &* c &+ ch))
        storeW(clampW(a3, lo, hi), o + (3 &* c &+ ch))
        ch = ch &+ lanes
    }
    while ch < c {
        var a0 = bias?[ch] ?? 0
        var a1 = a0, a2 = a0, a3 = a0
        for ky in ky0..<ky1 {
            let sOff: Int = ((iy0 &+ ky &* g.dilationH) &* g.inW &+ ix0) &* c &+ ch
            let wOff: Int = ky &* g.kW &* c &+ ch
            let srow = input + sOff, wrow = weights + wOff
            for kx in 0..<g.kW {
                let w = wrow[kx &* c]
                let s = srow + kx &* g.dilationW &* c
                a0 = a0 + s[0] * w
                a1 = a1 + s[step] * w
                a2 = a2 + s[2 &* step] * w
                a3 = a3 + s[3 &* step] * w
            }
        }
        o[ch] = Swift.min(Swift.max(a0, lo), hi)
        o[c &+ ch] = Swift.min(Swift.max(a1, lo), hi)
        o[2 &* c &+ ch] = Swift.min(Swift.max(a2, lo), hi)
        o[3 &* c &+ ch] = Swift.min(Swift.max(a3, lo), hi)
        ch = ch &+ 1
    }
}

/// Any group count. `weights` is [groups][kH][kW][cin/groups][cout/groups].
public func groupedConv2d(
    input: UnsafePointer<Float>, g: WindowGeometry, groups: Int, weights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>, lo: Float, hi: Float, threads: Int
) {
    let cinG = g.inC / groups
    let coutG = g.outC / groups
    parallelChunks(g.outH, threads: threads) { rows in
        for oy in rows {
            for ox in 0..<g.outW {
                let o = output + (oy &* g.outW &+ ox) &* g.outC
                for co in 0..<g.outC { o[co] = bias?[co] ?? 0 }
                for gr in 0..<groups {
                    let og = o + gr &* coutG
                    for ky in 0..<g.kH {
                        let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                        if iy < 0 || iy >= g.inH { continue }
                        for kx in 0..<g.kW {
                            let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                            if ix < 0 || ix >= g.inW { continue }
                            let sOff: Int = (iy &* g.inW &+ ix) &* g.inC &+ gr &* cinG
                            let wOff: Int = ((gr &* g.kH &+ ky) &* g.kW &+ kx) &* cinG &* coutG
                            let s = input + sOff
                            let w = weights + wOff
                            for ci in 0..<cinG {
                                let a = s[ci]
                                let wr = w + ci &* coutG
                                for co in 0..<coutG { og[co] = og[co] + a * wr[co] }
                            }
                        }
                    }
                }
                for co in 0..<g.outC { o[co] = min(max(o[co], lo), hi) }
            }
        }
    }
}
