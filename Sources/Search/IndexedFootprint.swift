import Footprint
import Graph

/// The memory model in index form, for searchers that check many partial policies per second
/// (HAQ clips every step): FLASH and the live-bytes bound as sums over tables built once from
/// `MemoryModel`, with bits given per weight layer and per searchable activation tensor (the
/// indices of `SearchSpace.weightLayers` and `.activationTensors`). It agrees with
/// `MemoryModel.flashBytes` and `.liveBound` exactly (tested); the arena itself still comes from
/// the planner.
struct IndexedFootprint: Sendable {
    /// FLASH that no bits change (per-channel constants).
    let flashBase: Int
    /// [weight index][bits] → packed weight bytes.
    let weightFlash: [[Int]]
    /// [weight index] → that layer's per-channel constants (part of `flashBase`).
    let weightFixed: [Int]
    /// [activation index][bits] → lookup-table bytes of the layers reading that tensor.
    let lookupFlash: [[Int]]
    /// Per arena step: bytes that do not depend on the policy (the 8-bit input) and the live
    /// tensors that do, as (activation index, [bits] → aligned bytes).
    let liveFixed: [Int]
    let live: [[(index: Int, bytes: [Int])]]

    init(_ space: SearchSpace) {
        let mm = space.memory
        let g = mm.graph
        let aIndex = Dictionary(uniqueKeysWithValues: space.activationTensors.enumerated().map { ($1, $0) })
        let wIndex = Dictionary(uniqueKeysWithValues: space.weightLayers.enumerated().map { ($1, $0) })
        let bitsRange = 0...8
        // The searchable tensor whose bits `t` carries (nil: fixed at 8 bits, as the input).
        func source(_ t: String) -> Int? { t == g.inputs[0] ? nil : aIndex[mm.bitsSource[t] ?? t] }
        var base = 0
        var wf = space.weightLayers.map { _ in [Int](repeating: 0, count: 9) }
        var wfixed = space.weightLayers.map { _ in 0 }
        var lf = space.activationTensors.map { _ in [Int](repeating: 0, count: 9) }
        for l in mm.layers {
            let input = l.inputs.first ?? ""
            switch l.kind {
            case .weighted:
                let fixed = mm.layerFlash(l, weightBits: 0, inputBits: 8)
                base += fixed
                if let wi = wIndex[l.name] {
                    wfixed[wi] = fixed
                    for b in bitsRange { wf[wi][b] = mm.layerFlash(l, weightBits: b, inputBits: 8) - fixed }
                } else {
                    base += mm.layerFlash(l, weightBits: 8, inputBits: 8) - fixed
                }
            case .lookup:
                if let ai = source(input) {
                    for b in bitsRange { lf[ai][b] += mm.layerFlash(l, weightBits: 8, inputBits: b) }
                } else {
                    base += mm.layerFlash(l, weightBits: 8, inputBits: 8)
                }
            case .affine: base += mm.layerFlash(l, weightBits: 8, inputBits: 8)
            default: break
            }
        }
        flashBase = base
        weightFlash = wf
        weightFixed = wfixed
        lookupFlash = lf
        var fixed: [Int] = [], live: [[(index: Int, bytes: [Int])]] = []
        for s in 0..<mm.steps {
            var f = 0, entries: [(index: Int, bytes: [Int])] = []
            for t in mm.liveTensors(step: s) {
                if let ai = source(t) {
                    entries.append((ai, bitsRange.map { mm.bufferBytes(t, bits: $0) }))
                } else {
                    f += mm.bufferBytes(t, bits: 8)
                }
            }
            fixed.append(f)
            live.append(entries)
        }
        liveFixed = fixed
        self.live = live
    }

    func flash(weights w: [Int], activations a: [Int]) -> Int {
        var total = flashBase
        for i in w.indices { total += weightFlash[i][w[i]] }
        for i in a.indices { total += lookupFlash[i][a[i]] }
        return total
    }

    /// max over steps of the bytes live together: the arena's lower bound.
    func liveBound(activations a: [Int]) -> Int {
        var best = 0
        for s in live.indices {
            var sum = liveFixed[s]
            for e in live[s] { sum += e.bytes[a[e.index]] }
            best = max(best, sum)
        }
        return best
    }
}
