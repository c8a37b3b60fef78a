/// Per-node figures for reports and the memory model.
public struct NodeStats: Sendable, Codable, Equatable {
    public var name: String
    public var op: String
    public var inputShapes: [[Int]]
    public var outputShape: [Int]
    /// Weight and bias elements read from constants.
    public var params: Int
    /// Multiply-accumulates (convolutions, transposed ones and fully connected layers; 0 for other ops).
    public var macs: Int
    public var outputElements: Int
}

extension Graph {
    public func stats() -> [NodeStats] {
        nodes.map { n in
            let out = shape(n.output)
            let params = n.inputs.filter { constants[$0] != nil }.reduce(0) { $0 + (constants[$1]?.count ?? 0) }
            var macs = 0
            switch n.op {
            case .conv:
                let w = shape(n.inputs[1])
                macs = IntegerLayout.macs(outputElements: out.reduce(1, *), rowLength: w[1] * w[2] * w[3])
            case .fullyConnected:
                macs = IntegerLayout.macs(outputElements: out.reduce(1, *), rowLength: shape(n.inputs[1])[1])
            case .convTranspose:
                // Every input element meets cout/group · kh · kw weights.
                let w = shape(n.inputs[1])
                macs = shape(n.inputs[0]).reduce(1, *) * w[1] * w[2] * w[3]
            default: break
            }
            return NodeStats(name: n.name, op: n.op.name, inputShapes: activationInputs(n).map(shape),
                             outputShape: out, params: params, macs: macs, outputElements: out.reduce(1, *))
        }
    }
}
