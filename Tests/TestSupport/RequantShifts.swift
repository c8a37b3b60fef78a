import Foundation

/// Requantisation shifts for random test layers: a multiplier in [2^30, 2^31) with a shift from
/// this range brings a sum of `terms` products of random codes near the output's range, so the
/// outputs vary instead of saturating (a saturated output hides a wrong sum).
public func requantShifts(terms: Int, xMagnitude: Double, wBits: Int, outBits: Int) -> ClosedRange<Int32> {
    let typical = Double(terms).squareRoot() * xMagnitude * Double(1 << max(0, wBits - 2))
    let target = outBits == 2 ? 0 : outBits - 3  // the typical sum lands near 2^target
    let t = Int32(30 + max(0, Int(log2(typical).rounded()) - target))
    return (t - 1)...(t + 1)
}

/// Whether output codes are informative: several values, and (above 2 bits, where only two
/// codes lie inside the bounds) a fifth of them strictly between the clamp bounds.
public func codesVary(_ codes: [Int], lo: Int, hi: Int, bits: Int) -> Bool {
    let inside = codes.filter { $0 > lo && $0 < hi }.count
    return Set(codes).count >= 3 && (bits == 2 || inside * 5 >= codes.count)
}
