import Graph

extension Builder {
    /// The codes and scales given for a layer's weights in `options.weights` (by a rounding
    /// pre-step), checked against the tensor and the policy's bits; nil when none were given.
    func givenWeightCodes(_ n: Node, _ wt: Tensor, bits: Int) throws -> (codes: [Int32], scales: [Double])? {
        let rows = wt.shape[0]
        guard let given = options.weights[n.name] else { return nil }
        let qmax = Int32((1 << (bits - 1)) - 1)
        guard given.bits == bits, given.codes.count == wt.count, given.scales.count == rows else {
            throw fail(n, "rounded weights do not match the layer (\(given.codes.count) codes at \(given.bits) bits for \(wt.count) weights at \(bits) bits)")
        }
        guard given.codes.allSatisfy({ $0 >= -qmax && $0 <= qmax }), given.scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw fail(n, "rounded weights leave the signed \(bits)-bit range or have a non-positive scale")
        }
        return (given.codes, given.scales)
    }
}
