/// Float GEMM for pointwise convolutions and fully connected layers:
/// `C[r][n] = clamp(bias[n] + Σ_k A[r][k] · B[k][n], lo, hi)`.
///
/// B (the weights) is packed once, at engine preparation, into column panels of 16 so the inner
/// loop reads it contiguously; A is any row-major matrix (an NHWC activation is one: a row per
/// pixel). A 6×16 register block keeps twelve 8-lane accumulators live, the classic shape for
/// 16 vector registers; rows left over go through a 1×16 block.

public typealias Vec8 = SIMD8<Float>

@inline(__always)
func madd(_ a: Vec8, _ b: Vec8, _ c: Vec8) -> Vec8 {
    #if TINYMPQ_FMA
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> Vec8 {
    UnsafeRawPointer(p).loadUnaligned(as: Vec8.self)
}

@inline(__always)
func store8(_ v: Vec8, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vec8.self)
}

/// A K×N matrix packed into ⌈N/16⌉ panels of K×16 floats (the last panel zero-padded).
public struct PackedPanels: Sendable {
    public static let width = 16
    public let k: Int
    public let n: Int
    public let data: [Float]

    /// Packs a row-major K×N matrix.
    public init(k: Int, n: Int, rowMajor b: [Float]) {
        self.k = k
        self.n = n
        let panels = (n + 15) / 16
        var d = [Float](repeating: 0, count: panels * k * 16)
        b.withUnsafeBufferPointer { src in
            d.withUnsafeMutableBufferPointer { dst in
                for p in 0..<panels {
                    let cols = Swift.min(16, n &- p &* 16)
                    for kk in 0..<k {
                        let so: Int = kk &* n &+ p &* 16
                        let to: Int = (p &* k &+ kk) &* 16
                        let s = src.baseAddress! + so
                        let t = dst.baseAddress! + to
                        for j in 0..<cols { t[j] = s[j] }
                    }
                }
            }
        }
        data = d
    }

    /// Packs B from an accessor `element(k, n)`.
    public init(k: Int, n: Int, element: (Int, Int) -> Float) {
        self.k = k
        self.n = n
        let panels = (n + 15) / 16
        var d = [Float](repeating: 0, count: panels * k * 16)
        for p in 0..<panels {
            for kk in 0..<k {
                for j in 0..<16 where p * 16 + j < n {
                    d[(p * k + kk) * 16 + j] = element(kk, p * 16 + j)
                }
            }
        }
        data = d
    }
}

/// Runs the GEMM over `rows` rows of A, splitting rows across `threads`.
public func gemm(
    a: UnsafePointer<Float>, lda: Int, rows: Int, b: PackedPanels, bias: UnsafePointer<Float>?,
    c: UnsafeMutablePointer<Float>, ldc: Int, lo: Float, hi: Float, threads: Int
) {
    b.data.withUnsafeBufferPointer { bbuf in
        guard let bbase = bbuf.baseAddress else { return }
        let k = b.k
        let n = b.n
        let panels = (n + 15) / 16
        var zeros = [Float](repeating: 0, count: panels * 16)
        if let bias { for j in 0..<n { zeros[j] = bias[j] } }
        zeros.withUnsafeBufferPointer { biasBuf in
            let biasBase = biasBuf.baseAddress!
            parallelChunks(rows, threads: threads, grain: 6) { range in
                // Row blocks of up to 48 keep a slice of A in L1/L2 while every panel streams past.
                var r0 = range.lowerBound
                while r0 < range.upperBound {
                    let r1 = min(range.upperBound, r0 &+ 48)
                    for p in 0..<panels {
                        let bp = bbase + p &* k &* 16
                        let cols = min(16, n &- p &* 16)
                        let b0 = load8(biasBase + p &* 16)
                        let b1 = load8(biasBase + (p &* 16 &+ 8))
                        var r = r0
                        while r &+ 6 <= r1 {
                            block6x16(a + r &* lda, lda, bp, k, b0, b1, c + r &* ldc + p &* 16, ldc, cols, lo, hi)
                            r = r &+ 6
                        }
                        while r < r1 {
                            block1x16(a + r &* lda, bp, k, b0, b1, c + r &* ldc + p &* 16, cols, lo, hi)
                            r = r &+ 1
                        }
                    }
                    r0 = r1
                }
            }
        }
    }
}

@inline(__always)
func clamp8(_ v: Vec8, _ lo: Float, _ hi: Float) -> Vec8 {
    // A fixed 8-lane loop the SLP vectoriser turns into vmaxps/vminps; `pointwiseMin/Max`
    // on SIMD8 are not inlined across the standard library boundary and cost a call each.
    var r = v
    for i in 0..<8 { r[i] = Swift.min(Swift.max(r[i], lo), hi) }
    return r
}

/// Stores one 16-wide row (or its first `cols` values), clamped to the fused activation range.
@inline(__always)
func storeRow(_ v0: Vec8, _ v1: Vec8, _ c: UnsafeMutablePointer<Float>, _ cols: Int, _ lo: Float, _ hi: Float) {
    let x0 = clamp8(v0, lo, hi), x1 = clamp8(v1, lo, hi)
    if cols == 16 {
        store8(x0, c)
        store8(x1, c + 8)
    } else {
        for j in 0..<cols { c[j] = j < 8 ? x0[j] : x1[j &- 8] }
    }
}

@inline(__always)
func block6x16(
    _ a: UnsafePointer<Float>, _ lda: Int, _ bp: UnsafePointer<Float>, _ k: Int, _ b0: Vec8, _ b1: Vec8,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ cols: Int, _ lo: Float, _ hi: Float
) {
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1
    var c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1
    let a0 = a, a1 = a + lda, a2 = a + 2 &* lda, a3 = a + 3 &* lda, a4 = a + 4 &* lda, a5 = a + 5 &* lda
    var p = bp
    for kk in 0..<k {
        let w0 = load8(p)
        let w1 = load8(p + 8)
        var x = Vec8(repeating: a0[kk])
        c00 = madd(x, w0, c00); c01 = madd(x, w1, c01)
        x = Vec8(repeating: a1[kk])
        c10 = madd(x, w0, c10); c11 = madd(x, w1, c11)
        x = Vec8(repeating: a2[kk])
        c20 = madd(x, w0, c20); c21 = madd(x, w1, c21)
        x = Vec8(repeating: a3[kk])
        c30 = madd(x, w0, c30); c31 = madd(x, w1, c31)
        x = Vec8(repeating: a4[kk])
        c40 = madd(x, w0, c40); c41 = madd(x, w1, c41)
        x = Vec8(repeating: a5[kk])
        c50 = madd(x, w0, c50); c51 = madd(x, w1, c51)
        p += 16
    }
    storeRow(c00, c01, c, cols, lo, hi)
    storeRow(c10, c11, c + ldc, cols, lo, hi)
    storeRow(c20, c21, c + 2 &* ldc, cols, lo, hi)
    storeRow(c30, c31, c + 3 &* ldc, cols, lo, hi)
    storeRow(c40, c41, c + 4 &* ldc, cols, lo, hi)
    storeRow(c50, c51, c + 5 &* ldc, cols, lo, hi)
}

@inline(__always)
func block1x16(
    _ a: UnsafePointer<Float>, _ bp: UnsafePointer<Float>, _ k: Int, _ b0: Vec8, _ b1: Vec8,
    _ c: UnsafeMutablePointer<Float>, _ cols: Int, _ lo: Float, _ hi: Float
) {
    var c0 = b0, c1 = b1
    var p = bp
    for kk in 0..<k {
        let x = Vec8(repeating: a[kk])
        c0 = madd(x, load8(p), c0)
        c1 = madd(x, load8(p + 8), c1)
        p += 16
    }
    storeRow(c0, c1, c, cols, lo, hi)
}
