import Graph
import Kernels

/// What convolutions and fully connected layers share: float weights to codes, the int32 bias
/// with the input zero-point folded in, and per-channel requantization. Real weights never fail
/// here: dead and near-dead channels get a floor on their scale, a bias too large for int32
/// raises its channel's scale, non-finite weights become 0, and each fix is a note naming the
/// channels (`QuantizedModel.notes`, the quantize log).
extension Builder {
    /// A channel's weight scale is at least this fraction of the layer's largest: weights of
    /// near-dead channels (1e-12 next to 0.1) round to zero instead of asking for scales no int32
    /// bias can use.
    static let weightScaleFloor = 1.0 / 65536

    /// The one place float weights become integer codes: per output channel (first axis)
    /// symmetric codes and their scales. A weight-rounding pre-step (GPTQ and the like) hands
    /// its own codes and scales in here.
    mutating func weightCodes(_ n: Node, weights: Tensor, rows: Int, bits: Int) throws -> (codes: [Int32], scales: [Double]) {
        if let given = try givenWeightCodes(n, weights, bits: bits) { return given }
        var w = weights.data
        let bad = w.indices.filter { !w[$0].isFinite }
        if !bad.isEmpty {
            let per = w.count / rows
            for i in bad { w[i] = 0 }
            note(n, "\(bad.count) non-finite weights set to 0 (channels \(channelList(Set(bad.map { $0 / per }).sorted())))")
        }
        var (codes, scales) = FakeQuant.quantizeRows(w, rows: rows, bits: bits)
        let per = w.count / rows
        let maxAbs = (0..<rows).map { r in w[r * per..<(r + 1) * per].reduce(Float(0)) { Swift.max($0, abs($1)) } }
        let largest = zip(scales, maxAbs).filter { $0.1 > 0 }.map(\.0).max() ?? 1
        let floor = largest * Self.weightScaleFloor
        var zero: [Int] = [], tiny: [Int] = []
        for r in 0..<rows where maxAbs[r] == 0 || scales[r] < floor {
            if maxAbs[r] == 0 { zero.append(r) } else { tiny.append(r) }
            requantizeRow(r, scale: Swift.max(floor, maxAbs[r] == 0 ? largest : floor), w: w, per: per, bits: bits, codes: &codes, scales: &scales)
        }
        if !zero.isEmpty { note(n, "all-zero weights in channels \(channelList(zero)): a zero row at the layer's largest scale") }
        if !tiny.isEmpty { note(n, "near-dead channels \(channelList(tiny)): weight scale raised to 1/65536 of the layer's largest") }
        return (codes, scales)
    }

    /// Codes of row `r` at a given scale (symmetric, clamped to the b-bit range).
    func requantizeRow(_ r: Int, scale: Double, w: [Float], per: Int, bits: Int, codes: inout [Int32], scales: inout [Double]) {
        let qmax = Double((1 << (bits - 1)) - 1)
        scales[r] = scale
        for j in 0..<per { codes[r * per + j] = Int32(Swift.min(Swift.max((Double(w[r * per + j]) / scale).rounded(.toNearestOrAwayFromZero), -qmax), qmax)) }
    }

    /// Bias in int32 at scale s_in·s_w[c], the input zero-point folded in, and per-channel
    /// requantization. A bias that would not fit in 2^30 raises its channel's weight scale until
    /// it does (the row's codes are recomputed from `w`).
    mutating func biasAndRequant(
        _ n: Node, bias: [Float], w: [Float], bits: Int, codes: inout [Int32], scales: inout [Double], x: QTensor, out: QTensor
    ) throws -> (bias: [Int32], m: [Int32], t: [Int32]) {
        let rows = scales.count, per = codes.count / rows
        let limit = Double(1 << 30)
        var b = [Int32](repeating: 0, count: rows), m = b, t = b
        var raised: [Int] = []
        for c in 0..<rows {
            let bc = bias[c].isFinite ? Double(bias[c]) : 0
            var zpTerm = 0.0
            if x.quant.zeroPoint != 0 { zpTerm = Double(x.quant.zeroPoint * codes[c * per..<(c + 1) * per].reduce(0) { $0 + Int($1) }) }
            var acc = (bc / (x.quant.scale * scales[c])).rounded(.toNearestOrAwayFromZero) - zpTerm
            if abs(acc) >= limit / 2 {
                // s_w ≥ 4·|b| / (s_in · 2^30) keeps |b| / (s_in·s_w) ≤ 2^28, with room for the zero-point term.
                requantizeRow(c, scale: 4 * abs(bc) / (x.quant.scale * limit), w: w, per: per, bits: bits, codes: &codes, scales: &scales)
                raised.append(c)
                zpTerm = x.quant.zeroPoint == 0 ? 0 : Double(x.quant.zeroPoint * codes[c * per..<(c + 1) * per].reduce(0) { $0 + Int($1) })
                acc = (bc / (x.quant.scale * scales[c])).rounded(.toNearestOrAwayFromZero) - zpTerm
            }
            b[c] = Int32(Swift.max(Swift.min(acc, limit / 2), -limit / 2))
            let fm = try multiplier(n, (x.quant.scale * scales[c]) / out.quant.scale)
            m[c] = fm.multiplier
            t[c] = fm.shift
        }
        if !raised.isEmpty {
            note(n, "bias of channels \(channelList(raised)) does not fit in int32 at scale s_in·s_w: their weight scale was raised so it does")
        }
        // The accumulator bound: every product plus the bias must stay inside int32.
        let xmax = Swift.max(abs(x.quant.qmin), abs(x.quant.qmax))
        for c in 0..<rows {
            let wsum = codes[c * per..<(c + 1) * per].reduce(0) { $0 + abs(Int($1)) }
            guard wsum * xmax + abs(Int(b[c])) < Int(Int32.max) else { throw fail(n, "accumulator of channel \(c) could overflow int32") }
        }
        return (b, m, t)
    }

    /// A requantization multiplier; a factor too large to encode (an output whose calibrated
    /// range is zero or denormal) is capped at the largest encodable one, with a note.
    mutating func multiplier(_ n: Node, _ r: Double) throws -> FixedMultiplier {
        if r.isFinite, r >= Double(1 << 30) {
            note(n, "requantization factor \(r) capped at 2^30 (an output range of almost zero)")
            return try FixedMultiplier(Double(1 << 30) * (1 - 1e-9))
        }
        return try FixedMultiplier(r.isFinite ? r : 0)
    }

    /// Two multipliers sharing one shift (`sharedShift`), each capped as `multiplier` caps.
    mutating func sharedMultipliers(_ n: Node, _ r1: Double, _ r2: Double) throws -> (Int32, Int32, Int32) {
        let cap = Double(1 << 30) * (1 - 1e-9)
        if r1 >= cap || r2 >= cap { note(n, "requantization factors \(r1), \(r2) capped at 2^30 (an output range of almost zero)") }
        return try sharedShift(Swift.min(r1.isFinite ? r1 : 0, cap), Swift.min(r2.isFinite ? r2 : 0, cap))
    }

    /// Float bias, with bias correction applied when enabled: b − Σ (W_q − W)·E[x].
    func correctedBias(_ n: Node, w: [Float], codes: [Int32], scales: [Double], rows: Int, taps: Int, inputChannelsPerGroup: Int,
                       group: (Int) -> Int, x: QTensor) -> [Float] {
        var bias = n.inputs.count > 2 ? (graph.constants[n.inputs[2]]?.data ?? []) : []
        if bias.isEmpty { bias = [Float](repeating: 0, count: rows) }
        guard options.biasCorrection, let mean = stats.tensors[x.name]?.channelMeans, !mean.isEmpty else { return bias }
        let per = w.count / rows
        for r in 0..<rows {
            var shift = 0.0
            for j in 0..<per {
                let ci = group(r) * inputChannelsPerGroup + (j / taps)
                guard ci < mean.count, mean[ci].isFinite, w[r * per + j].isFinite else { continue }
                shift += (Double(codes[r * per + j]) * scales[r] - Double(w[r * per + j])) * mean[ci]
            }
            bias[r] -= Float(shift)
        }
        return bias
    }

    /// "3, 7, 12" (the first 16, then how many more).
    func channelList(_ cs: [Int]) -> String {
        let head = cs.prefix(16).map(String.init).joined(separator: ", ")
        return cs.count > 16 ? head + " and \(cs.count - 16) more" : head
    }

    mutating func note(_ n: Node, _ message: String) { notes.append("node '\(n.name)' (\(n.op.name)): \(message)") }
}
