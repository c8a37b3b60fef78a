import Kernels

/// A row-major matrix of floats (rows = batch items for activations).
struct Matrix {
    var rows: Int
    var cols: Int
    var data: [Float]

    init(rows: Int, cols: Int, data: [Float]? = nil) {
        self.rows = rows
        self.cols = cols
        self.data = data ?? [Float](repeating: 0, count: rows * cols)
    }

    subscript(r: Int, c: Int) -> Float {
        get { data[r * cols + c] }
        set { data[r * cols + c] = newValue }
    }

    var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        for r in 0..<rows { for c in 0..<cols { t.data[c * rows + r] = data[r * cols + c] } }
        return t
    }
}

/// C = A · B (+ bias per column), through the packed GEMM kernel; a single row (the actor
/// acting on one state) skips the packing.
func matmul(_ a: Matrix, _ b: Matrix, bias: [Float]? = nil) -> Matrix {
    precondition(a.cols == b.rows)
    var c = Matrix(rows: a.rows, cols: b.cols)
    if a.rows == 1 {
        let n = b.cols
        c.data.withUnsafeMutableBufferPointer { cp in
            if let bias { for j in 0..<n { cp[j] = bias[j] } }
            a.data.withUnsafeBufferPointer { ap in
                b.data.withUnsafeBufferPointer { bp in
                    for k in 0..<a.cols {
                        let x = ap[k]
                        if x == 0 { continue }
                        let row = bp.baseAddress! + k &* n
                        for j in 0..<n { cp[j] += x * row[j] }
                    }
                }
            }
        }
        return c
    }
    let n = b.cols
    let panels = PackedPanels(k: b.rows, n: b.cols, rowMajor: b.data)
    a.data.withUnsafeBufferPointer { ap in
        c.data.withUnsafeMutableBufferPointer { cp in
            withBias(bias) { bp in
                // Two threads once a product is worth splitting (the 300×300 layers on a batch of 64).
                gemm(a: ap.baseAddress!, lda: a.cols, rows: a.rows, b: panels, bias: bp, c: cp.baseAddress!, ldc: n,
                     lo: -.infinity, hi: .infinity, threads: a.rows * a.cols * n >= 1 << 20 ? 2 : 1)
            }
        }
    }
    return c
}

private func withBias<R>(_ b: [Float]?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let b else { return body(nil) }
    return b.withUnsafeBufferPointer { body($0.baseAddress) }
}

/// A fully connected layer y = x·Wᵀ + b with PyTorch's default init (uniform ±1/√fan_in) and
/// its own Adam state.
struct Dense {
    var w: Matrix  // [in][out] (so forward is x · w)
    var b: [Float]
    var mw: [Float], vw: [Float], mb: [Float], vb: [Float]
    var t = 0

    init(_ inputs: Int, _ outputs: Int, rng: inout SplitMix) {
        let bound = 1 / Float(inputs).squareRoot()
        w = Matrix(rows: inputs, cols: outputs, data: (0..<inputs * outputs).map { _ in rng.uniform(-bound, bound) })
        b = (0..<outputs).map { _ in rng.uniform(-bound, bound) }
        mw = [Float](repeating: 0, count: inputs * outputs)
        vw = mw
        mb = [Float](repeating: 0, count: outputs)
        vb = mb
    }

    func forward(_ x: Matrix) -> Matrix { matmul(x, w, bias: b) }

    /// Gradients for upstream gradient `dy` at input `x`: (dW, db, dx).
    func backward(_ x: Matrix, _ dy: Matrix) -> (Matrix, [Float], Matrix) {
        let (dw, db) = weightGradient(x, dy)
        return (dw, db, inputGradient(dy))
    }

    /// dW and db alone (a first layer needs no dx).
    func weightGradient(_ x: Matrix, _ dy: Matrix) -> (Matrix, [Float]) {
        let dw = matmul(x.transposed, dy)
        var db = [Float](repeating: 0, count: dy.cols)
        for r in 0..<dy.rows { for c in 0..<dy.cols { db[c] += dy[r, c] } }
        return (dw, db)
    }

    /// dx alone (back-propagating through a layer that is not being trained).
    func inputGradient(_ dy: Matrix) -> Matrix { matmul(dy, w.transposed) }

    mutating func adam(_ dw: Matrix, _ db: [Float], lr: Float) {
        t += 1
        let b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8
        let c1 = 1 - pow(b1, Float(t)), c2 = 1 - pow(b2, Float(t))
        // Moments of parameters whose gradient stays 0 (dead ReLU units) decay geometrically into
        // denormal floats, which x86 computes about 100× slower (measured: HAQ's updates grew
        // from 5 to 17 ms each over 600 episodes). Below 1e-30 they are flushed to 0; the step
        // they give is below float precision anyway.
        let tiny: Float = 1e-30
        for i in 0..<w.data.count {
            let g = dw.data[i]
            var m = b1 * mw[i] + (1 - b1) * g, v = b2 * vw[i] + (1 - b2) * g * g
            if abs(m) < tiny { m = 0 }
            if v < tiny { v = 0 }
            mw[i] = m
            vw[i] = v
            w.data[i] -= lr * (m / c1) / ((v / c2).squareRoot() + eps)
        }
        for i in 0..<b.count {
            let g = db[i]
            var m = b1 * mb[i] + (1 - b1) * g, v = b2 * vb[i] + (1 - b2) * g * g
            if abs(m) < tiny { m = 0 }
            if v < tiny { v = 0 }
            mb[i] = m
            vb[i] = v
            b[i] -= lr * (m / c1) / ((v / c2).squareRoot() + eps)
        }
    }

    /// target ← τ·self + (1 − τ)·target
    func softUpdate(_ target: inout Dense, tau: Float) {
        for i in 0..<w.data.count { target.w.data[i] = tau * w.data[i] + (1 - tau) * target.w.data[i] }
        for i in 0..<b.count { target.b[i] = tau * b[i] + (1 - tau) * target.b[i] }
    }
}

func relu(_ m: Matrix) -> Matrix { var r = m; for i in 0..<r.data.count { r.data[i] = max(r.data[i], 0) }; return r }

/// dL/dx of ReLU given its output `y` and upstream gradient.
func reluBackward(_ y: Matrix, _ dy: Matrix) -> Matrix {
    var d = dy
    for i in 0..<d.data.count where y.data[i] <= 0 { d.data[i] = 0 }
    return d
}

/// A seedable generator (SplitMix64) with the distributions the agent needs.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(unit()) }
    mutating func normal() -> Double {
        let u = max(unit(), 1e-300), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    /// Normal(mean, sigma) truncated to [0, 1] by rejection (falls back to clipping).
    mutating func truncatedNormal(mean: Double, sigma: Double) -> Double {
        for _ in 0..<64 {
            let x = mean + sigma * normal()
            if x >= 0 && x <= 1 { return x }
        }
        return min(max(mean, 0), 1)
    }
}

#if canImport(Glibc)
import Glibc
#endif
