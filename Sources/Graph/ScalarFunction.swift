import Foundation

/// A function of one activation value x, applied element by element: the one mechanism for
/// every unary element-wise op (hard-swish, SiLU, tanh, LeakyReLU, scalar affine chains, …).
/// Exporters decompose such functions into chains of small nodes; `Graph.fuseElementwise()`
/// collects each chain back into one tree. The integer side turns it into a lookup table.
public indirect enum ScalarFunction: Sendable, Hashable, CustomStringConvertible {
    case x
    case constant(Float)
    case unary(Unary, ScalarFunction)
    case binary(Binary, ScalarFunction, ScalarFunction)

    public enum Unary: String, Sendable, Hashable, CaseIterable {
        case relu, sigmoid, tanh, exp, log, neg, abs, sqrt, reciprocalSqrt, softplus, erf, floor, ceil, round
    }

    public enum Binary: String, Sendable, Hashable {
        case add = "+", sub = "-", mul = "*", div = "/", min, max, pow
    }

    // MARK: building

    public static func + (a: ScalarFunction, b: ScalarFunction) -> ScalarFunction { .binary(.add, a, b) }
    public static func - (a: ScalarFunction, b: ScalarFunction) -> ScalarFunction { .binary(.sub, a, b) }
    public static func * (a: ScalarFunction, b: ScalarFunction) -> ScalarFunction { .binary(.mul, a, b) }
    public static func / (a: ScalarFunction, b: ScalarFunction) -> ScalarFunction { .binary(.div, a, b) }

    /// min(max(f, lo), hi), leaving out infinite bounds.
    public static func clip(_ f: ScalarFunction, _ lo: Float, _ hi: Float) -> ScalarFunction {
        var r = f
        if lo > -.infinity { r = .binary(.max, r, .constant(lo)) }
        if hi < .infinity { r = .binary(.min, r, .constant(hi)) }
        return r
    }

    /// The function with every x replaced by `inner`.
    public func composed(with inner: ScalarFunction) -> ScalarFunction {
        switch self {
        case .x: return inner
        case .constant: return self
        case .unary(let u, let a): return .unary(u, a.composed(with: inner))
        case .binary(let b, let l, let r): return .binary(b, l.composed(with: inner), r.composed(with: inner))
        }
    }

    /// The tree of an IR activation op, or nil for ops that are not a function of one value.
    public static func of(_ op: Op) -> ScalarFunction? {
        switch op {
        case .relu: return .unary(.relu, .x)
        case .clip(let lo, let hi): return .clip(.x, lo, hi)
        case .sigmoid: return .unary(.sigmoid, .x)
        case .hardSigmoid(let a, let b): return .clip(.constant(a) * .x + .constant(b), 0, 1)
        case .hardSwish: return .x * .clip(.x / .constant(6) + .constant(0.5), 0, 1)
        case .elementwise(let f): return f
        default: return nil
        }
    }

    /// y = x > 0 ? x : alpha·x, written as max(x, 0) + alpha·min(x, 0).
    public static func leakyRelu(_ alpha: Float) -> ScalarFunction {
        .binary(.max, .x, .constant(0)) + .constant(alpha) * .binary(.min, .x, .constant(0))
    }

    /// y = x > 0 ? x : alpha·(exp(x) − 1).
    public static func elu(_ alpha: Float) -> ScalarFunction {
        .binary(.max, .x, .constant(0)) + .constant(alpha) * (.unary(.exp, .binary(.min, .x, .constant(0))) - .constant(1))
    }

    // MARK: evaluating

    public func callAsFunction(_ v: Float) -> Float {
        switch self {
        case .x: return v
        case .constant(let c): return c
        case .unary(let u, let a): return u.apply(a(v))
        case .binary(let b, let l, let r): return b.apply(l(v), r(v))
        }
    }

    /// Applies the function to every element of `data`, one tree node at a time.
    public func apply(_ data: inout [Float]) {
        switch self {
        case .x: return
        case .constant(let c):
            for i in data.indices { data[i] = c }
        case .unary(let u, let a):
            a.apply(&data)
            data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = u.apply(p[i]) } }
        case .binary(let b, let l, .constant(let c)):
            l.apply(&data)
            data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = b.apply(p[i], c) } }
        case .binary(let b, .constant(let c), let r):
            r.apply(&data)
            data.withUnsafeMutableBufferPointer { p in for i in 0..<p.count { p[i] = b.apply(c, p[i]) } }
        case .binary(let b, let l, let r):
            var right = data
            r.apply(&right)
            l.apply(&data)
            data.withUnsafeMutableBufferPointer { p in
                right.withUnsafeBufferPointer { q in for i in 0..<p.count { p[i] = b.apply(p[i], q[i]) } }
            }
        }
    }

    /// Whether the function never returns a negative value on any input (the integer side stores
    /// such outputs unsigned). Decided on a dense sample of inputs over [-64, 64] plus ±∞ limits.
    public var isNonNegative: Bool {
        var v: Float = -64
        while v <= 64 {
            let y = self(v)
            if y < 0 || y.isNaN { return false }
            v += 1.0 / 64
        }
        return true
    }

    /// Whether the function is identical to `other` on a dense sample of inputs (used to give
    /// fused trees their familiar names).
    public func matches(_ other: ScalarFunction, tolerance: Float = 1e-5) -> Bool {
        var v: Float = -16
        while v <= 16 {
            let a = self(v), b = other(v)
            if a.isNaN || b.isNaN || abs(a - b) > tolerance * max(1, abs(b)) { return false }
            v += 1.0 / 128
        }
        return true
    }

    public var description: String {
        switch self {
        case .x: return "x"
        case .constant(let c): return "\(c)"
        case .unary(let u, let a): return "\(u.rawValue)(\(a))"
        case .binary(let b, let l, let r):
            switch b {
            case .min, .max, .pow: return "\(b.rawValue)(\(l), \(r))"
            default: return "(\(l) \(b.rawValue) \(r))"
            }
        }
    }
}

extension ScalarFunction.Unary {
    public func apply(_ v: Float) -> Float {
        switch self {
        case .relu: return Swift.max(v, 0)
        case .sigmoid: return 1 / (1 + expf(-v))
        case .tanh: return tanhf(v)
        case .exp: return expf(v)
        case .log: return logf(v)
        case .neg: return -v
        case .abs: return Swift.abs(v)
        case .sqrt: return v.squareRoot()
        case .reciprocalSqrt: return 1 / v.squareRoot()
        case .softplus: return v > 20 ? v : log1pf(expf(v))
        case .erf: return erff(v)
        case .floor: return v.rounded(.down)
        case .ceil: return v.rounded(.up)
        case .round: return v.rounded(.toNearestOrEven)
        }
    }
}

extension ScalarFunction.Binary {
    public func apply(_ a: Float, _ b: Float) -> Float {
        switch self {
        case .add: return a + b
        case .sub: return a - b
        case .mul: return a * b
        case .div: return a / b
        case .min: return Swift.min(a, b)
        case .max: return Swift.max(a, b)
        case .pow: return b == 2 ? a * a : powf(a, b)
        }
    }
}
