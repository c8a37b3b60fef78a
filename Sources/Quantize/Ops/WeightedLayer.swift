import Graph
import Kernels

/// What convolutions and fully connected layers share: float weights to codes, the int32 bias
/// with the input zero-point folded in, and per-channel requantization.
extension Builder {
    /// The one place float weights become integer codes: per output channel (first axis)
    /// symmetric codes and their scales. A weight-rounding pre-step (GPTQ and the like) hands
    /// its own codes and scales in here.
    func weightCodes(_ n: Node, weights: Tensor, rows: Int, bits: Int) -> (codes: [Int32], scales: [Double]) {
        FakeQuant.quantizeRows(weights.data, rows: rows, bits: bits)
    }

    /// Bias in int32 at scale s_in·s_w[c], the input zero-point folded in, and per-channel
    /// requantization.
    func biasAndRequant(
        _ n: Node, bias: [Float], codes: [Int32], scales: [Double], x: QTensor, out: QTensor
    ) throws -> (bias: [Int32], m: [Int32], t: [Int32]) {
        let rows = scales.count, per = codes.count / rows
        var b = [Int32](repeating: 0, count: rows), m = b, t = b
        for c in 0..<rows {
            let accScale = x.quant.scale * scales[c]
            var acc = (Double(bias[c]) / accScale).rounded(.toNearestOrAwayFromZero)
            if x.quant.zeroPoint != 0 {
                let sumW = codes[c * per..<(c + 1) * per].reduce(0) { $0 + Int($1) }
                acc -= Double(x.quant.zeroPoint * sumW)
            }
            guard abs(acc) < Double(Int32.max) / 2 else { throw fail(n, "bias of channel \(c) does not fit in int32 at scale \(accScale)") }
            b[c] = Int32(acc)
            let fm = try FixedMultiplier((x.quant.scale * scales[c]) / out.quant.scale)
            m[c] = fm.multiplier
            t[c] = fm.shift
        }
        // The accumulator bound: every product plus the bias must stay inside int32.
        let xmax = Swift.max(abs(x.quant.qmin), abs(x.quant.qmax))
        for c in 0..<rows {
            let wsum = codes[c * per..<(c + 1) * per].reduce(0) { $0 + abs(Int($1)) }
            guard wsum * xmax + abs(Int(b[c])) < Int(Int32.max) else { throw fail(n, "accumulator of channel \(c) could overflow int32") }
        }
        return (b, m, t)
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
                guard ci < mean.count else { continue }
                shift += (Double(codes[r * per + j]) * scales[r] - Double(w[r * per + j])) * mean[ci]
            }
            bias[r] -= Float(shift)
        }
        return bias
    }
}
