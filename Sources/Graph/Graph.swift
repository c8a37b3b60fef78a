/// A CNN as a list of nodes in execution (topological) order, with a static shape for every
/// tensor and the weights as float constants.
///
/// Batch is always 1 inside the graph; engines run a batch one image at a time.
public struct Graph: Sendable {
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    public var nodes: [Node]
    /// Shape of every activation tensor and every constant.
    public var shapes: [String: [Int]]
    public var constants: [String: Tensor]
    /// How rank-4 inputs and outputs are laid out outside the graph (data files, `infer`).
    public var layout: DataLayout = .nchw

    public init(name: String, inputs: [String], outputs: [String], nodes: [Node] = [],
                shapes: [String: [Int]] = [:], constants: [String: Tensor] = [:]) {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.shapes = shapes
        self.constants = constants
    }

    public func shape(_ tensor: String) -> [Int] { shapes[tensor] ?? [] }

    public func isConstant(_ tensor: String) -> Bool { constants[tensor] != nil }

    /// The activation (non-constant) inputs of a node.
    public func activationInputs(_ node: Node) -> [String] { node.inputs.filter { constants[$0] == nil } }

    /// Nodes that read each tensor.
    public func consumers() -> [String: [Int]] {
        var c: [String: [Int]] = [:]
        for (i, n) in nodes.enumerated() { for t in n.inputs { c[t, default: []].append(i) } }
        return c
    }

    /// The most elements one activation tensor may have (2^28 floats = 1 GiB).
    public static let maxTensorElements = 1 << 28

    /// The most multiply-accumulates (or window taps) one node may take: 2^34, a hundred times
    /// the largest MCU networks' total.
    public static let maxNodeWork = 1 << 34

    /// Appends a node, inferring and recording its output shape.
    public mutating func append(_ node: Node) throws {
        let inShapes = try node.inputs.map { name -> [Int] in
            guard let s = shapes[name] else {
                throw GraphError(node: node.name, op: node.op.name, "input '\(name)' is not produced by any earlier node")
            }
            return s
        }
        guard shapes[node.output] == nil else {
            throw GraphError(node: node.name, op: node.op.name, "output '\(node.output)' is already written by an earlier node (or is a constant or the input); every tensor must have one producer")
        }
        let out = try node.op.outputShape(inShapes, node: node.name)
        var count = 1
        for d in out {
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard d >= 0, !o, p <= Self.maxTensorElements else {
                throw GraphError(node: node.name, op: node.op.name, "output shape \(out) is negative or absurdly large (more than \(Self.maxTensorElements) elements)")
            }
            count = p
        }
        // Window ops visit every kernel tap for every output element: a pool window of 2^31
        // (a corrupt file) would run for ever. Past `maxNodeWork` taps the node is refused.
        var taps = 1
        switch node.op {
        case .conv: taps = inShapes.count > 1 ? inShapes[1].dropFirst().reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 } : 1
        case .averagePool(let p), .maxPool(let p): taps = p.kernelShape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        default: break
        }
        let (work, o) = count.multipliedReportingOverflow(by: taps)
        guard !o, work <= Self.maxNodeWork else {
            throw GraphError(node: node.name, op: node.op.name, "\(count) outputs × \(taps) window taps is more work than the \(Self.maxNodeWork) one node may take; the kernel, padding or dilation is absurd")
        }
        shapes[node.output] = out
        nodes.append(node)
    }
}
