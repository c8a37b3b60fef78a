import Graph

/// Checks on every imported graph, whatever its format.
///
/// Weights and op parameters read from a file must be finite and of a sensible size: a NaN or
/// ±Inf (or 1e38) weight would poison calibration and the quantizer's float-to-integer
/// conversions. The error names the tensor and the node that reads it.
///
/// The number of nodes is limited: the search's sensitivity table propagates every tensor's
/// quantization error to the output, which costs nodes² per image (a chain of 1,000 Relu nodes
/// takes over a minute), and MCU networks have a few hundred nodes at most.
enum ImportChecks {
    static let maxNodes = 1000

    static func check(_ g: Graph, file: String) throws {
        guard g.nodes.count <= maxNodes else {
            throw ImportError(file: file, "the graph has \(g.nodes.count) nodes after import, more than the \(maxNodes) tinympq handles (microcontroller networks have a few hundred); refused")
        }
        try checkFinite(g, file: file)
    }

    /// Larger weights than this are refused: no trained network has them, and sums of a few of
    /// them would overflow float.
    static let maxMagnitude: Float = 1e30

    static func checkFinite(_ g: Graph, file: String) throws {
        let consumers = g.consumers()
        for name in g.constants.keys.sorted() {
            guard let t = g.constants[name],
                  let i = t.data.firstIndex(where: { !($0.magnitude <= maxMagnitude) }) else { continue }
            let v = t.data[i]
            let reader = consumers[name]?.first.map { g.nodes[$0] }
            let what = v.isNaN ? "NaN" : v.isInfinite ? "\(v)" : "\(v) (beyond ±\(maxMagnitude))"
            throw ImportError(file: file, node: reader?.name, op: reader?.op.name,
                              "constant tensor '\(name)' holds \(what) at element \(i); weights must be finite numbers")
        }
        for n in g.nodes {
            var params: [Float] = []
            switch n.op {
            case .clip(let lo, let hi): params = [lo.isInfinite ? 0 : lo, hi.isInfinite ? 0 : hi]
            case .hardSigmoid(let a, let b): params = [a, b]
            case .pad(_, let value): params = [value]
            default: break
            }
            if let v = params.first(where: { !($0.magnitude <= maxMagnitude) }) {
                throw ImportError(file: file, node: n.name, op: n.op.name, "parameter \(v) is not a finite number of a sensible size")
            }
        }
    }
}
