import Dispatch
import Foundation
import Graph
import Kernels

/// How weights are rounded onto their per-channel grid (the budget's `rounding`).
public enum RoundingMethod: String, Sendable, Codable, CaseIterable {
    /// Each weight to its nearest code (after the per-row MSE clipping).
    case nearest
    /// GPTQ / OBQ: columns one at a time (largest H diagonal first), each column's error fed to the later ones through the
    /// Cholesky factor of H⁻¹, H = XᵀX from the layer's calibration inputs.
    case hessian
}

/// The integer weights of one layer, chosen ahead of the quantizer: codes in the weight
/// tensor's own order (OIHW for convolutions, [out][in] for fully connected), one scale per
/// output channel.
public struct RoundedWeights: Sendable, Equatable {
    public var codes: [Int32]
    public var scales: [Double]
    public var bits: Int

    public init(codes: [Int32], scales: [Double], bits: Int) {
        self.codes = codes
        self.scales = scales
        self.bits = bits
    }

    /// The dequantized weights (codes × scale of their row).
    public var values: [Float] {
        let per = codes.count / max(scales.count, 1)
        return codes.indices.map { Float(Double(codes[$0]) * scales[$0 / per]) }
    }
}

public enum HessianRounding {
    /// Dampening added to H's diagonal, as a fraction of its mean diagonal (GPTQ's default).
    public static let dampening = 0.01

    /// Rounded weights of every weighted layer of `graph` at the bits `policy` gives it.
    public static func round(graph: Graph, policy: Policy, hessians: LayerHessians, threads: Int = 2,
                             progress: ((String) -> Void)? = nil) throws -> [String: RoundedWeights] {
        let weighted = graph.integerLayers().filter { if case .weighted = $0.kind { return true }; return false }
        let jobs: [(name: String, w: Tensor, h: LayerHessian, bits: Int)] = weighted.compactMap { spec in
            let n = graph.nodes[spec.node]
            guard let w = graph.constants[n.inputs[1]], let h = hessians.layers[n.name] else { return nil }
            return (n.name, w, h, policy.weightBits(n.name))
        }
        // Layers in parallel, largest first (the Cholesky of one H runs on one core); each layer's
        // result does not depend on which worker ran it.
        let order = jobs.indices.sorted { (Double(jobs[$0].h.d) * Double(jobs[$0].h.d) * Double(jobs[$0].h.d) * Double(jobs[$0].h.groups), $1)
            > (Double(jobs[$1].h.d) * Double(jobs[$1].h.d) * Double(jobs[$1].h.d) * Double(jobs[$1].h.groups), $0) }
        let results = UncheckedSendable(UnsafeMutableBufferPointer<RoundedWeights?>.allocate(capacity: jobs.count))
        defer { results.value.deallocate() }
        _ = results.value.initialize(repeating: nil)
        let t0 = DispatchTime.now()
        let lock = NSLock()
        nonisolated(unsafe) var next = 0, done = 0
        nonisolated(unsafe) var interrupted = false
        let workers = max(1, min(threads, jobs.count))
        withoutActuallyEscaping({ (worker: Int) in
            while true {
                let k: Int? = lock.withLock {
                    guard next < order.count, !interrupted else { return nil }
                    if Interrupt.requested { interrupted = true; return nil }
                    next += 1
                    return order[next - 1]
                }
                guard let k else { return }
                let j = jobs[k]
                results.value[k] = layer(j.w, hessian: j.h, bits: j.bits, threads: 1)
                let count = lock.withLock { done += 1; return done }
                if count == jobs.count || count % 10 == 0 {
                    let s = Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
                    lock.withLock { progress?(String(format: "hessian rounding: %d/%d layers, %.2f s", count, jobs.count, s)) }
                }
            }
        }) { body in
            let shared = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { shared.value($0) }
        }
        if interrupted { throw Interrupted() }
        var out: [String: RoundedWeights] = [:]
        for (k, j) in jobs.enumerated() { out[j.name] = results.value[k] }
        return out
    }

    /// The upper Cholesky factor U of (H + λI)⁻¹ of every group of a layer (λ = dampening × the
    /// mean diagonal); nil for a group whose H is zero. It depends on H only, so one factor serves
    /// every bit-width.
    public struct Factor: Sendable {
        public var groups: Int
        public var d: Int
        var u: [[Double]?]
        /// Per group, the column order (largest H diagonal first when `descending`), or nil
        /// for the tensor's own order.
        var order: [[Int]?]
    }

    /// Columns with the largest H diagonal (the inputs with most energy) first, as GPTQ's
    /// "act-order": their errors can still be spread over the rest.
    public static let descendingOrder = true

    public static func factor(_ lh: LayerHessian, threads: Int = 2) -> Factor {
        let d = lh.d, groups = lh.groups
        let results = UncheckedSendable(UnsafeMutableBufferPointer<[Double]?>.allocate(capacity: groups))
        defer { results.value.deallocate() }
        _ = results.value.initialize(repeating: nil)
        let orders = UncheckedSendable(UnsafeMutableBufferPointer<[Int]?>.allocate(capacity: groups))
        defer { orders.value.deallocate() }
        _ = orders.value.initialize(repeating: nil)
        let descending = descendingOrder
        parallelChunks(groups, threads: threads) { range in
            var hm = [Double](repeating: 0, count: d * d)
            for g in range {
                let base = g * d * d
                var perm = Array(0..<d)
                if descending {
                    perm.sort { (lh.h[base + $0 * d + $0], $1) > (lh.h[base + $1 * d + $1], $0) }
                    orders.value[g] = perm
                }
                for i in 0..<d { for j in 0..<d { hm[i * d + j] = lh.h[base + perm[i] * d + perm[j]] } }
                var mean = 0.0
                for i in 0..<d { mean += hm[i * d + i] }
                mean /= Double(d)
                guard mean > 0, mean.isFinite else { continue }
                for i in 0..<d { hm[i * d + i] += dampening * mean }
                var u = [Double](repeating: 0, count: d * d)
                let ok = hm.withUnsafeMutableBufferPointer { hp in u.withUnsafeMutableBufferPointer { up in inverseCholeskyUpper(hp.baseAddress!, d: d, into: up.baseAddress!) } }
                if ok { results.value[g] = u }
            }
        }
        return Factor(groups: groups, d: d, u: Array(results.value), order: Array(orders.value))
    }

    /// One layer: the per-row MSE-clipped scales of round-to-nearest, then GPTQ's column loop on
    /// each group's rows with that group's H. A group without a factor keeps nearest.
    public static func layer(_ w: Tensor, hessian lh: LayerHessian, bits: Int, threads: Int = 2) -> RoundedWeights {
        layer(w, factor: factor(lh, threads: threads), bits: bits, threads: threads)
    }

    public static func layer(_ w: Tensor, factor f: Factor, bits: Int, threads: Int = 2) -> RoundedWeights {
        let rows = w.shape[0]
        let (nearest, scales) = FakeQuant.quantizeRows(w.data, rows: rows, bits: bits)
        let d = f.d, groups = f.groups
        guard rows % groups == 0, rows * d == w.count else { return RoundedWeights(codes: nearest, scales: scales, bits: bits) }
        let rowsG = rows / groups
        let qmax = (1 << (bits - 1)) - 1
        let parallelGroups = groups > 1
        let sCodes = UncheckedSendable(UnsafeMutableBufferPointer<Int32>.allocate(capacity: nearest.count))
        defer { sCodes.value.deallocate() }
        _ = sCodes.value.initialize(from: nearest)
        scales.withUnsafeBufferPointer { sc in
            let sScales = UncheckedSendable(sc.baseAddress!)
            parallelChunks(groups, threads: parallelGroups ? threads : 1) { range in
                var wg = [Double](repeating: 0, count: rowsG * d)
                var cg = [Int32](repeating: 0, count: rowsG * d)
                for g in range {
                    guard let u = f.u[g] else { continue }
                    let base = g * rowsG * d
                    let perm = f.order[g]
                    for r in 0..<rowsG { for j in 0..<d { wg[r * d + j] = Double(w.data[base + r * d + (perm?[j] ?? j)]) } }
                    wg.withUnsafeMutableBufferPointer { wp in
                        u.withUnsafeBufferPointer { up in
                            cg.withUnsafeMutableBufferPointer { cp in
                                roundColumnsWithErrorFeedback(wp.baseAddress!, rows: rowsG, d: d, u: up.baseAddress!, scales: sScales.value + g * rowsG, qmax: qmax,
                                                              codes: cp.baseAddress!, threads: parallelGroups ? 1 : threads)
                            }
                        }
                    }
                    for r in 0..<rowsG { for j in 0..<d { sCodes.value[base + r * d + (perm?[j] ?? j)] = cg[r * d + j] } }
                }
            }
        }
        return RoundedWeights(codes: Array(sCodes.value), scales: scales, bits: bits)
    }

    /// Σ over rows of (ŵ − w)ᵀ H (ŵ − w): the summed squared output error of the layer on its
    /// calibration inputs (H without dampening).
    public static func outputError(_ w: Tensor, _ q: RoundedWeights, hessian lh: LayerHessian) -> Double {
        let rows = w.shape[0], d = lh.d, rowsG = rows / lh.groups
        let v = q.values
        var total = 0.0
        var delta = [Double](repeating: 0, count: d)
        for r in 0..<rows {
            let g = r / rowsG
            for j in 0..<d { delta[j] = Double(v[r * d + j]) - Double(w.data[r * d + j]) }
            for i in 0..<d {
                var s = 0.0
                let base = g * d * d + i * d
                for j in 0..<d { s += lh.h[base + j] * delta[j] }
                total += delta[i] * s
            }
        }
        return total
    }
}
