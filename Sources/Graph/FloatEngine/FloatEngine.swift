import Dispatch
import Kernels

/// Runs a `Graph` in float32 on the CPU: the reference the quantized model is measured against.
///
/// Preparation re-lays every weight out once for its kernel (GEMM panels for pointwise and full
/// convolutions, [kh][kw][C] for depthwise) and fuses a Relu/Clip that is the only reader of a
/// convolution or fully connected output into that layer's clamp. A run then walks the nodes in
/// order, keeping each activation only until its last reader.
public final class FloatEngine: Sendable {
    public let graph: Graph
    public let threads: Int
    let steps: [Step]
    /// For each step, the tensors that can be dropped after it.
    let releases: [[String]]

    public init(graph: Graph, threads: Int = 1) throws {
        self.graph = graph
        self.threads = max(1, threads)
        var steps: [Step] = []
        let fused = graph.fusedActivations()
        let skip = Set(fused.values.map(\.activation))
        for (i, n) in graph.nodes.enumerated() where !skip.contains(i) {
            var node = n
            var (lo, hi): (Float, Float) = (-.infinity, .infinity)
            if let f = fused[i] {
                (lo, hi) = (f.lo, f.hi)
                node.output = graph.nodes[f.activation].output
            }
            steps.append(try Step.prepare(node, graph: graph, lo: lo, hi: hi))
        }
        // Liveness: drop a tensor after its last reader.
        var last: [String: Int] = [:]
        for (i, s) in steps.enumerated() { for t in s.node.inputs { last[t] = i } }
        var rel = [[String]](repeating: [], count: steps.count)
        for (t, i) in last where graph.constants[t] == nil && !graph.outputs.contains(t) { rel[i].append(t) }
        self.steps = steps
        self.releases = rel
    }

    /// Runs a batch (first axis) image by image; returns one tensor per graph output, batched.
    public func run(_ input: Tensor, observe: ((String, Tensor) -> Void)? = nil) throws -> [Tensor] {
        guard let inName = graph.inputs.first, graph.inputs.count == 1 else {
            throw GraphError(node: graph.name, op: "Graph", "exactly one graph input is supported, found \(graph.inputs.count)")
        }
        let want = graph.shape(inName)
        guard input.shape.count == want.count, input.shape.dropFirst().elementsEqual(want.dropFirst()), input.shape.first ?? 0 > 0 else {
            throw GraphError(node: inName, op: "Input", "input has shape \(input.shape), the model expects \(["N"] + want.dropFirst().map(String.init))")
        }
        var results: [[Tensor]] = []
        for b in 0..<input.shape[0] {
            results.append(try runOne(input.item(b), observe: observe))
        }
        return graph.outputs.indices.map { o in Tensor.stack(results.map { $0[o] }) }
    }

    func runOne(_ input: Tensor, observe: ((String, Tensor) -> Void)?) throws -> [Tensor] {
        var env: [String: Value] = [graph.inputs[0]: Value(logical: input)]
        for (i, step) in steps.enumerated() {
            let v = try step.execute(env: env, engine: self)
            env[step.node.output] = v
            observe?(step.node.output, v.tensor)
            for t in releases[i] { env[t] = nil }
        }
        return try graph.outputs.map { name in
            guard let v = env[name] else { throw GraphError(node: name, op: "Output", "graph output is never computed") }
            return v.tensor
        }
    }

    func value(_ name: String, _ env: [String: Value]) throws -> Value {
        if let v = env[name] { return v }
        if let c = graph.constants[name] { return Value(logical: c) }
        throw GraphError(node: name, op: "Tensor", "tensor is not available when it is read")
    }
}

extension FloatEngine {
    /// Milliseconds per image spent in each kernel kind (pointwise, im2col, depthwise, …),
    /// averaged over `runs` (for `tinympq bench --profile`).
    public func profile(_ input: Tensor, runs: Int) throws -> [String: Double] {
        var totals: [String: Double] = [:]
        for _ in 0..<runs {
            var env: [String: Value] = [graph.inputs[0]: Value(logical: input.item(0))]
            for (i, step) in steps.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                env[step.node.output] = try step.execute(env: env, engine: self)
                totals[step.kindName, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                for t in releases[i] { env[t] = nil }
            }
        }
        return totals.mapValues { $0 / Double(runs) }
    }
}

extension Step {
    var kindName: String {
        switch kernel {
        case .pointwise: return "pointwise"
        case .im2col: return "im2col"
        case .depthwise: return "depthwise"
        case .grouped: return "grouped"
        case .fullyConnected: return "fullyConnected"
        case .batchNorm: return "batchNorm"
        case .generic: return node.op.name
        }
    }
}
