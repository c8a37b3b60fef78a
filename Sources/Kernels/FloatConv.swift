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
public func depthwiseConv2d(
    input: UnsafePointer<Float>, g: WindowGeometry, weights: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    output: UnsafeMutablePointer<Float>, lo: Float, hi: Float, threads: Int
) {
    let c = g.outC
    parallelChunks(g.outH, threads: threads) { rows in
        for oy in rows {
            for ox in 0..<g.outW {
                let o = output + (oy &* g.outW &+ ox) &* c
                if let bias { for ch in 0..<c { o[ch] = bias[ch] } } else { for ch in 0..<c { o[ch] = 0 } }
                for ky in 0..<g.kH {
                    let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                    if iy < 0 || iy >= g.inH { continue }
                    for kx in 0..<g.kW {
                        let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                        if ix < 0 || ix >= g.inW { continue }
                        let s = input + (iy &* g.inW &+ ix) &* c
                        let w = weights + (ky &* g.kW &+ kx) &* c
                        for ch in 0..<c { o[ch] = o[ch] + s[ch] * w[ch] }
                    }
                }
                for ch in 0..<c { o[ch] = min(max(o[ch], lo), hi) }
            }
        }
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
