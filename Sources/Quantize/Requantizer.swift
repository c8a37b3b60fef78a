import Foundation

/// A real multiplier r encoded as M · 2^−T, M ∈ [2^30, 2^31), T ∈ [1, 62] (or M = 0 when r is
/// too small to matter). The same expression everywhere: r is computed by the caller in Double
/// in one fixed order, then `frexp` splits it.
public struct FixedMultiplier: Codable, Sendable, Equatable {
    public var multiplier: Int32
    public var shift: Int32

    public init(_ r: Double) throws {
        guard r.isFinite, r >= 0 else { throw QuantizeError(node: "-", op: "-", "requantization factor \(r) is not a finite non-negative number") }
        if r == 0 {
            multiplier = 0
            shift = 1
            return
        }
        let (m, e) = frexp(r)  // r = m · 2^e, m ∈ [0.5, 1)
        var mq = Int64((m * Double(1 << 31)).rounded(.toNearestOrAwayFromZero))
        var exp = e
        if mq == 1 << 31 {
            mq = 1 << 30
            exp += 1
        }
        var t = 31 - exp
        if t > 62 {
            // Shift beyond 62: scale the multiplier down instead (it becomes < 2^30, possibly 0).
            mq >>= Int64(t - 62)
            t = 62
        }
        guard t >= 1 else { throw QuantizeError(node: "-", op: "-", "requantization factor \(r) is too large (≥ 2^30)") }
        multiplier = Int32(mq)
        shift = Int32(t)
    }

    public var value: Double { Double(multiplier) / pow(2, Double(shift)) }
}

/// Two multipliers sharing one shift (residual add): r1, r2 → M1, M2 with M_i / 2^T ≈ r_i.
public func sharedShift(_ r1: Double, _ r2: Double) throws -> (Int32, Int32, Int32) {
    let big = try FixedMultiplier(max(r1, r2))
    let t = Double(big.shift)
    func enc(_ r: Double) -> Int32 { Int32(clamping: Int64((r * pow(2, t)).rounded(.toNearestOrAwayFromZero))) }
    return (enc(r1), enc(r2), big.shift)
}

/// A quantization failure naming the node and op.
public struct QuantizeError: Error, CustomStringConvertible, Sendable {
    public var node: String
    public var op: String
    public var message: String

    public init(node: String, op: String, _ message: String) {
        self.node = node
        self.op = op
        self.message = message
    }

    public var description: String { node == "-" ? message : "node '\(node)' (\(op)): \(message)" }
}
