/// Float GEMM for pointwise and full convolutions and fully connected layers:
/// `C[r][n] = clamp(bias[n] + Σ_k A[r][k] · B[k][n], lo, hi)`.
///
/// B (the weights) is packed once, at engine preparation, into column panels two vectors wide
/// (16 floats with 8-lane AVX2/portable vectors, 32 with AVX-512's 16 lanes) so the inner loop
/// reads it contiguously; A is any row-major matrix (an NHWC activation is one: a row per pixel).
/// A 6-row × 2-vector register block keeps twelve accumulators live, the classic shape for 16
/// vector registers (12 accumulators, 2 weight vectors, 1 broadcast).
///
/// Blocking (Goto/BLIS order): K is cut into slices of at most `kSlice` so one panel's slice
/// stays in L1 while every 6-row tile of a row block of `rowBlock` rows (a slice of A that stays
/// in L2) runs over it. The first slice starts from the bias, the middle ones accumulate into C,
/// the last applies the fused activation clamp (the epilogue). Work is split across threads by
/// rows when there are many (early layers), by panels when there are few (late layers, fully
/// connected), so each core streams only its share of the weights.

public typealias Vec8 = SIMD8<Float>

#if TINYMPQ_AVX512
/// The GEMM's vector: 16 lanes (one zmm register) on AVX-512 builds.
public typealias VecW = SIMD16<Float>
#else
/// The GEMM's vector: 8 lanes (one ymm register on AVX2 builds, two SSE registers otherwise).
public typealias VecW = SIMD8<Float>
#endif
/// Lanes of `VecW`.
let lanes = VecW.scalarCount

@inline(__always)
func madd(_ a: Vec8, _ b: Vec8, _ c: Vec8) -> Vec8 {
    #if TINYMPQ_FMA
    return c.addingProduct(a, b)
    #else
    return c + a * b
    #endif
}

@inline(__always)
func maddW(_ a: VecW, _ b: VecW, _ c: VecW) -> VecW {
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

@inline(__always)
func loadW(_ p: UnsafePointer<Float>) -> VecW { UnsafeRawPointer(p).loadUnaligned(as: VecW.self) }

@inline(__always)
func storeW(_ v: VecW, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: VecW.self) }

/// Float storage aligned to 64 bytes (a cache line, one AVX-512 vector), so no vector load of a
/// packed panel straddles two lines.
public final class AlignedFloats: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(zeros count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count) &* 4, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: Swift.max(1, count))
        pointer.initialize(repeating: 0, count: count)
    }

    deinit { pointer.deallocate() }
}

/// A K×N matrix packed into ⌈N/width⌉ panels of K×width floats (the last panel zero-padded).
public struct PackedPanels: Sendable {
    /// Columns per panel: two of the build's vectors.
    public static let width = 2 * VecW.scalarCount
    public let k: Int
    public let n: Int
    /// Immutable once packed; shared between copies.
    public let storage: AlignedFloats

    /// Packs a row-major K×N matrix.
    public init(k: Int, n: Int, rowMajor b: [Float]) {
        self.init(k: k, n: n) { kk, j in b[kk * n + j] }
    }

    /// Packs B from an accessor `element(k, n)`.
    public init(k: Int, n: Int, element: (Int, Int) -> Float) {
        self.k = k
        self.n = n
        let w = Self.width
        let panels = (n + w - 1) / w
        storage = AlignedFloats(zeros: panels * k * w)
        let d = storage.pointer
        for p in 0..<panels {
            for kk in 0..<k {
                for j in 0..<w where p * w + j < n {
                    d[(p * k + kk) * w + j] = element(kk, p * w + j)
                }
            }
        }
    }
}

/// Largest K slice kept near L1 per panel (20 KB of AVX2 panel, 40 KB of AVX-512 panel).
let kSlice = 320
/// Rows of A (a multiple of 6) run over one panel slice before moving to the next panel.
let rowBlock = 96

/// Runs the GEMM over `rows` rows of A, splitting the work across `threads`.
public func gemm(
    a: UnsafePointer<Float>, lda: Int, rows: Int, b: PackedPanels, bias: UnsafePointer<Float>?,
    c: UnsafeMutablePointer<Float>, ldc: Int, lo: Float, hi: Float, threads: Int
) {
    guard rows > 0, b.n > 0 else { return }
    withExtendedLifetime(b.storage) {
        let bbase = UnsafePointer(b.storage.pointer)
        let panels = (b.n + PackedPanels.width - 1) / PackedPanels.width
        let tiles = (rows + 5) / 6
        if threads > 1 && tiles < 8 &* threads && panels >= 2 {
            parallelChunks(panels, threads: threads) { pr in
                gemmBlock(a, lda, 0..<rows, bbase, b.k, b.n, pr, bias, c, ldc, lo, hi)
            }
        } else {
            parallelChunks(rows, threads: threads, grain: 6) { rr in
                gemmBlock(a, lda, rr, bbase, b.k, b.n, 0..<panels, bias, c, ldc, lo, hi)
            }
        }
    }
}

/// The blocked loop nest over a rectangle of C: `rowRange` rows × `panelRange` panels.
@inline(__always)
func gemmBlock(
    _ a: UnsafePointer<Float>, _ lda: Int, _ rowRange: Range<Int>, _ bbase: UnsafePointer<Float>, _ k: Int, _ n: Int,
    _ panelRange: Range<Int>, _ bias: UnsafePointer<Float>?, _ c: UnsafeMutablePointer<Float>, _ ldc: Int,
    _ lo: Float, _ hi: Float
) {
    let w = PackedPanels.width
    let slices = Swift.max(1, (k &+ kSlice &- 1) / kSlice)
    let kc = Swift.max(1, (k &+ slices &- 1) / slices)
    var k0 = 0
    repeat {
        let k1 = Swift.min(k, k0 &+ kc)
        let first = k0 == 0, last = k1 == k
        var r0 = rowRange.lowerBound
        while r0 < rowRange.upperBound {
            let r1 = Swift.min(rowRange.upperBound, r0 &+ rowBlock)
            for p in panelRange {
                let bp = bbase + (p &* k &+ k0) &* w
                let cols = Swift.min(w, n &- p &* w)
                var b0 = VecW(repeating: 0), b1 = VecW(repeating: 0)
                if first, let bias { (b0, b1) = loadRow(bias + p &* w, cols) }
                var r = r0
                while r < r1 {
                    let m = Swift.min(6, r1 &- r)
                    let cp = c + r &* ldc + p &* w
                    if m == 1 {
                        block1(a + r &* lda + k0, bp, k1 &- k0, b0, b1, cp, cols, first, last, lo, hi)
                    } else {
                        block6(a + r &* lda + k0, lda, m, bp, k1 &- k0, b0, b1, cp, ldc, cols, first, last, lo, hi)
                    }
                    r = r &+ 6
                }
            }
            r0 = r1
        }
        k0 = k1
    } while k0 < k

}

@inline(__always)
func clamp8(_ v: Vec8, _ lo: Float, _ hi: Float) -> Vec8 {
    // A fixed-lane loop the SLP vectoriser turns into vmaxps/vminps; `pointwiseMin/Max` on SIMD
    // types are not inlined across the standard library boundary and cost a call each.
    var r = v
    for i in 0..<8 { r[i] = Swift.min(Swift.max(r[i], lo), hi) }
    return r
}

@inline(__always)
func clampW(_ v: VecW, _ lo: Float, _ hi: Float) -> VecW {
    let r = v.replacing(with: VecW(repeating: lo), where: v .< VecW(repeating: lo))
    return r.replacing(with: VecW(repeating: hi), where: r .> VecW(repeating: hi))
}

/// Loads one panel row (or its first `cols` values, the rest zero).
@inline(__always)
func loadRow(_ p: UnsafePointer<Float>, _ cols: Int) -> (VecW, VecW) {
    if cols == 2 &* lanes { return (loadW(p), loadW(p + lanes)) }
    var x0 = VecW(repeating: 0), x1 = VecW(repeating: 0)
    for j in 0..<cols { if j < lanes { x0[j] = p[j] } else { x1[j &- lanes] = p[j] } }
    return (x0, x1)
}

/// Stores one panel row (or its first `cols` values), clamped when `last`.
@inline(__always)
func storeRow(_ v0: VecW, _ v1: VecW, _ c: UnsafeMutablePointer<Float>, _ cols: Int, _ last: Bool, _ lo: Float, _ hi: Float) {
    if cols == 2 &* lanes {
        storeW(last ? clampW(v0, lo, hi) : v0, c)
        storeW(last ? clampW(v1, lo, hi) : v1, c + lanes)
    } else {
        storePartialRow(v0, v1, c, cols, last, lo, hi)
    }
}

/// The last panel's narrower row, kept out of line so the full-width path stays small.
@inline(never)
func storePartialRow(_ v0: VecW, _ v1: VecW, _ c: UnsafeMutablePointer<Float>, _ cols: Int, _ last: Bool, _ lo: Float, _ hi: Float) {
    var x = (last ? clampW(v0, lo, hi) : v0, last ? clampW(v1, lo, hi) : v1)
    withUnsafeBytes(of: &x) { UnsafeMutableRawPointer(c).copyMemory(from: $0.baseAddress!, byteCount: cols &* 4) }
}

/// Up to six rows (`m`; missing rows repeat the last one and are not stored) × one panel over a
/// K slice. `first`: start from the bias, else from C; `last`: clamp.
@inline(__always)
func block6(
    _ a: UnsafePointer<Float>, _ lda: Int, _ m: Int, _ bp: UnsafePointer<Float>, _ k: Int, _ b0: VecW, _ b1: VecW,
    _ c: UnsafeMutablePointer<Float>, _ ldc: Int, _ cols: Int, _ first: Bool, _ last: Bool, _ lo: Float, _ hi: Float
) {
    let o1 = Swift.min(1, m &- 1), o2 = Swift.min(2, m &- 1), o3 = Swift.min(3, m &- 1)
    let o4 = Swift.min(4, m &- 1), o5 = Swift.min(5, m &- 1)
    var c00 = b0, c01 = b1, c10 = b0, c11 = b1, c20 = b0, c21 = b1
    var c30 = b0, c31 = b1, c40 = b0, c41 = b1, c50 = b0, c51 = b1
    if !first {
        (c00, c01) = loadRow(c, cols)
        (c10, c11) = loadRow(c + o1 &* ldc, cols)
        (c20, c21) = loadRow(c + o2 &* ldc, cols)
        (c30, c31) = loadRow(c + o3 &* ldc, cols)
        (c40, c41) = loadRow(c + o4 &* ldc, cols)
        (c50, c51) = loadRow(c + o5 &* ldc, cols)
    }
    let a0 = a, a1 = a + o1 &* lda, a2 = a + o2 &* lda, a3 = a + o3 &* lda, a4 = a + o4 &* lda, a5 = a + o5 &* lda
    let w = 2 &* lanes
    var p = bp
    for kk in 0..<k {
        let w0 = loadW(p)
        let w1 = loadW(p + lanes)
        var x = VecW(repeating: a0[kk])
        c00 = maddW(x, w0, c00); c01 = maddW(x, w1, c01)
        x = VecW(repeating: a1[kk])
        c10 = maddW(x, w0, c10); c11 = maddW(x, w1, c11)
        x = VecW(repeating: a2[kk])
        c20 = maddW(x, w0, c20); c21 = maddW(x, w1, c21)
        x = VecW(repeating: a3[kk])
        c30 = maddW(x, w0, c30); c31 = maddW(x, w1, c31)
        x = VecW(repeating: a4[kk])
        c40 = maddW(x, w0, c40); c41 = maddW(x, w1, c41)
        x = VecW(repeating: a5[kk])
        c50 = maddW(x, w0, c50); c51 = maddW(x, w1, c51)
        p += w
    }
    storeRow(c00, c01, c, cols, last, lo, hi)
    if m > 1 { storeRow(c10, c11, c + ldc, cols, last, lo, hi) }
    if m > 2 { storeRow(c20, c21, c + 2 &* ldc, cols, last, lo, hi) }
    if m > 3 { storeRow(c30, c31, c + 3 &* ldc, cols, last, lo, hi) }
    if m > 4 { storeRow(c40, c41, c + 4 &* ldc, cols, last, lo, hi) }
    if m > 5 { storeRow(c50, c51, c + 5 &* ldc, cols, last, lo, hi) }
}

/// One row × one panel; two accumulator pairs (even and odd k) hide the FMA latency, which a
/// single row (fully connected layers) would otherwise wait on.
@inline(__always)
func block1(
    _ a: UnsafePointer<Float>, _ bp: UnsafePointer<Float>, _ k: Int, _ b0: VecW, _ b1: VecW,
    _ c: UnsafeMutablePointer<Float>, _ cols: Int, _ first: Bool, _ last: Bool, _ lo: Float, _ hi: Float
) {
    var c0 = b0, c1 = b1
    if !first { (c0, c1) = loadRow(c, cols) }
    var d0 = VecW(repeating: 0), d1 = VecW(repeating: 0)
    let w = 2 &* lanes
    var p = bp
    var kk = 0
    while kk &+ 2 <= k {
        let x = VecW(repeating: a[kk]), y = VecW(repeating: a[kk &+ 1])
        c0 = maddW(x, loadW(p), c0)
        c1 = maddW(x, loadW(p + lanes), c1)
        d0 = maddW(y, loadW(p + w), d0)
        d1 = maddW(y, loadW(p + (w &+ lanes)), d1)
        p += 2 &* w
        kk = kk &+ 2
    }
    if kk < k {
        let x = VecW(repeating: a[kk])
        c0 = maddW(x, loadW(p), c0)
        c1 = maddW(x, loadW(p + lanes), c1)
    }
    storeRow(c0 + d0, c1 + d1, c, cols, last, lo, hi)
}
