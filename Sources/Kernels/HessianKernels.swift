/// The numeric core of Hessian-aware weight rounding (GPTQ / OBQ): im2col rows of a layer's
/// input, the Gram matrix H = XᵀX, the factor of H⁻¹ and the column-by-column rounding with
/// error feedback. Everything is in Double except the im2col rows; loops run over raw pointers.

/// Writes the im2col matrix of one group of a convolution input (one image, NCHW, float) as
/// columns: `out[j·P + p]` = input value under tap j = (ci·kh + ky)·kw + kx of output pixel p
/// (0 in the padding), for ci in the group's `cinG` channels starting at `channel0`.
/// Column j starts at `out + j·ld` (ld ≥ outH·outW), so several images can share a block.
public func im2colColumns(
    _ x: UnsafePointer<Float>, inH: Int, inW: Int, channel0: Int, cinG: Int,
    kH: Int, kW: Int, strideH: Int, strideW: Int, dilationH: Int, dilationW: Int, padTop: Int, padLeft: Int,
    outH: Int, outW: Int, out: UnsafeMutablePointer<Float>, ld: Int
) {
    for ci in 0..<cinG {
        let plane = x + (channel0 &+ ci) &* inH &* inW
        for ky in 0..<kH {
            for kx in 0..<kW {
                let j = (ci &* kH &+ ky) &* kW &+ kx
                let col = out + j &* ld
                for oy in 0..<outH {
                    let iy = oy &* strideH &- padTop &+ ky &* dilationH
                    let row = col + oy &* outW
                    if iy < 0 || iy >= inH {
                        for ox in 0..<outW { row[ox] = 0 }
                        continue
                    }
                    let src = plane + iy &* inW
                    for ox in 0..<outW {
                        let ix = ox &* strideW &- padLeft &+ kx &* dilationW
                        row[ox] = (ix >= 0 && ix < inW) ? src[ix] : 0
                    }
                }
            }
        }
    }
}

/// h (d×d, Double, row-major) += Σ_p c_i[p]·c_j[p] for column-stored rows `cols` (d columns of
/// length `n`, column j at `cols + j·ld`): the Gram matrix of the n rows. Only i ≤ j is accumulated; `symmetrize` fills
/// the rest once at the end. Products are summed in Float over blocks of 256 rows, then in
/// Double. Rows i of h are split across threads (disjoint writes).
public func accumulateGram(_ cols: UnsafePointer<Float>, d: Int, n: Int, ld: Int, into h: UnsafeMutablePointer<Double>, threads: Int) {
    let sh = UncheckedSendable(h)
    // Balance the triangle: row i costs d − i dots.
    parallelChunks(d, threads: threads, grain: 1) { range in
        let h = sh.value
        for i in range {
            let ci = cols + i &* ld
            var j = i
            // Four columns at a time: ci is loaded once per four dots.
            while j &+ 4 <= d {
                let c0 = cols + j &* ld, c1 = c0 + ld, c2 = c1 + ld, c3 = c2 + ld
                var t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0
                var p0 = 0
                while p0 < n {
                    let p1 = Swift.min(n, p0 &+ 256)
                    var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
                    var p = p0
                    while p &+ 8 <= p1 {
                        let v = load8(ci + p)
                        a0 = madd(v, load8(c0 + p), a0)
                        a1 = madd(v, load8(c1 + p), a1)
                        a2 = madd(v, load8(c2 + p), a2)
                        a3 = madd(v, load8(c3 + p), a3)
                        p = p &+ 8
                    }
                    var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                    while p < p1 {
                        s0 += ci[p] * c0[p]
                        s1 += ci[p] * c1[p]
                        s2 += ci[p] * c2[p]
                        s3 += ci[p] * c3[p]
                        p = p &+ 1
                    }
                    t0 += Double(s0)
                    t1 += Double(s1)
                    t2 += Double(s2)
                    t3 += Double(s3)
                    p0 = p1
                }
                h[i &* d &+ j] += t0
                h[i &* d &+ j &+ 1] += t1
                h[i &* d &+ j &+ 2] += t2
                h[i &* d &+ j &+ 3] += t3
                j = j &+ 4
            }
            while j < d {
                let cj = cols + j &* ld
                var t = 0.0
                var p0 = 0
                while p0 < n {
                    let p1 = Swift.min(n, p0 &+ 256)
                    var a = SIMD8<Float>()
                    var p = p0
                    while p &+ 8 <= p1 {
                        a = madd(load8(ci + p), load8(cj + p), a)
                        p = p &+ 8
                    }
                    var s = a.sum()
                    while p < p1 {
                        s += ci[p] * cj[p]
                        p = p &+ 1
                    }
                    t += Double(s)
                    p0 = p1
                }
                h[i &* d &+ j] += t
                j = j &+ 1
            }
        }
    }
}

/// Copies the upper triangle of a d×d matrix onto the lower one.
public func symmetrize(_ h: UnsafeMutablePointer<Double>, d: Int) {
    for i in 0..<d { for j in 0..<i { h[i &* d &+ j] = h[j &* d &+ i] } }
}

/// The upper-triangular factor U of H⁻¹ = UᵀU (positive diagonal), from a symmetric positive
/// definite H (d×d, row-major, overwritten). It is computed without forming H⁻¹: the reverse-
/// order Cholesky factor R (upper, H = RRᵀ) gives H⁻¹ = R⁻ᵀR⁻¹, so U = R⁻¹. Returns false if H is
/// not positive definite.
public func inverseCholeskyUpper(_ h: UnsafeMutablePointer<Double>, d: Int, into u: UnsafeMutablePointer<Double>) -> Bool {
    // R in place in the upper triangle of h: columns from the last to the first.
    var j = d &- 1
    while j >= 0 {
        let rj = h + j &* d
        let s = rj[j] - dot(rj + (j &+ 1), rj + (j &+ 1), d &- j &- 1)
        guard s > 0, s.isFinite else { return false }
        let diag = s.squareRoot()
        rj[j] = diag
        for i in 0..<j {
            let ri = h + i &* d
            ri[j] = (ri[j] - dot(ri + (j &+ 1), rj + (j &+ 1), d &- j &- 1)) / diag
        }
        j = j &- 1
    }
    // U = R⁻¹ (upper): solve R·U = I column by column, from the bottom row up. Column c of U
    // is built as row c of `u` (contiguous), then the matrix is transposed in place.
    for i in 0..<(d &* d) { u[i] = 0 }
    for c in 0..<d {
        let uc = u + c &* d
        uc[c] = 1 / h[c &* d &+ c]
        var i = c &- 1
        while i >= 0 {
            let ri = h + i &* d
            uc[i] = -dot(ri + (i &+ 1), uc + (i &+ 1), c &- i) / ri[i]
            i = i &- 1
        }
    }
    for i in 0..<d {
        for j in (i &+ 1)..<d {
            let a = u[i &* d &+ j]
            u[i &* d &+ j] = u[j &* d &+ i]
            u[j &* d &+ i] = a
        }
    }
    return true
}

/// Σ a[k]·b[k] over n Doubles, four lanes at a time (a fixed order: deterministic).
@inline(__always)
func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ n: Int) -> Double {
    var acc0 = SIMD4<Double>(), acc1 = SIMD4<Double>()
    var k = 0
    while k &+ 8 <= n {
        let a0 = UnsafeRawPointer(a + k).loadUnaligned(as: SIMD4<Double>.self)
        let b0 = UnsafeRawPointer(b + k).loadUnaligned(as: SIMD4<Double>.self)
        let a1 = UnsafeRawPointer(a + (k &+ 4)).loadUnaligned(as: SIMD4<Double>.self)
        let b1 = UnsafeRawPointer(b + (k &+ 4)).loadUnaligned(as: SIMD4<Double>.self)
        acc0 = acc0 + a0 * b0
        acc1 = acc1 + a1 * b1
        k = k &+ 8
    }
    var s = (acc0 + acc1).sum()
    while k < n {
        s += a[k] * b[k]
        k = k &+ 1
    }
    return s
}

/// GPTQ's column loop for a block of rows sharing one Hessian: `w` (rows×d, Double, row-major,
/// overwritten with the error-compensated values) is quantized column by column on each row's
/// grid `scales[r]`·[−qmax, qmax]; each column's rounding error, divided by U[i][i], is fed to
/// the later columns through row i of U. Codes go to `codes` (rows×d). Rows are independent and
/// run in parallel in blocks of 8 (each row of U is read once per block).
public func roundColumnsWithErrorFeedback(
    _ w: UnsafeMutablePointer<Double>, rows: Int, d: Int, u: UnsafePointer<Double>, scales: UnsafePointer<Double>, qmax: Int,
    codes: UnsafeMutablePointer<Int32>, threads: Int
) {
    let sw = UncheckedSendable(w), sc = UncheckedSendable(codes)
    let q = Double(qmax)
    parallelChunks(rows, threads: threads, grain: 8) { range in
        let w = sw.value, codes = sc.value
        var r0 = range.lowerBound
        while r0 < range.upperBound {
            let r1 = Swift.min(range.upperBound, r0 &+ 8)
            for i in 0..<d {
                let ui = u + i &* d
                let dii = ui[i]
                for r in r0..<r1 {
                    let wr = w + r &* d
                    let s = scales[r]
                    let code = Swift.min(Swift.max((wr[i] / s).rounded(.toNearestOrAwayFromZero), -q), q)
                    codes[r &* d &+ i] = Int32(code)
                    let e = (wr[i] - code * s) / dii
                    var j = i &+ 1
                    while j < d {
                        wr[j] -= e * ui[j]
                        j = j &+ 1
                    }
                }
            }
            r0 = r1
        }
    }
}
