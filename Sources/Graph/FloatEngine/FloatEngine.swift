import Dispatch
import Foundation
import Kernels

/// Runs a `Graph` in float32 on the CPU: the reference the quantized model is measured against.
///
/// Preparation re-lays every weight out once for its kernel (GEMM panels for pointwise and full
/// convolutions, [kh][kw][C] for depthwise) and fuses a Relu/Clip that is the only reader of a
/// convolution or fully connected output into that layer's clamp. A run then walks the nodes in
/// order, keeping each activation only until its last reader.
///
/// Output buffers of the prepared kernels are planned once per graph: tensors whose lifetimes do
/// not overlap share a slot (same element count), and a run takes a set of slot buffers from the
/// engine's pool and gives it back, so steady-state runs allocate no activation memory for
/// convolutions. A buffer still referenced elsewhere (an `observe` callback keeping a tensor) is
/// copied on write by the array, never overwritten.
public final class FloatEngine: Sendable {
    public let graph: Graph
    public let threads: Int
    let steps: [Step]
    /// For each step, the tensors that can be dropped after it.
    let releases: [[String]]
    /// For each step, its output buffer slot, or -1 (allocated per run).
    let slots: [Int]
    /// Element count of each slot.
    let slotSizes: [Int]
    /// Step index producing each tensor.
    let producer: [String: Int]
    let pool = WorkspacePool()

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
        // Slot plan: greedy over the step order, a freed slot is reused by the next output of
        // the same size.
        var slots = [Int](repeating: -1, count: steps.count), sizes: [Int] = [], free: [Int] = []
        var producer: [String: Int] = [:]
        for (i, s) in steps.enumerated() {
            if s.writesPlannedBuffer && !graph.outputs.contains(s.node.output) {
                let n = graph.shape(s.node.output).reduce(1, *)
                if let j = free.firstIndex(where: { sizes[$0] == n }) {
                    slots[i] = free.remove(at: j)
                } else {
                    slots[i] = sizes.count
                    sizes.append(n)
                }
            }
            producer[s.node.output] = i
            for t in rel[i] { if let p = producer[t], slots[p] >= 0 { free.append(slots[p]) } }
        }
        self.slots = slots
        self.slotSizes = sizes
        self.producer = producer
    }

    /// Runs steps `from...` over `env`, dropping tensors after their last reader; buffers of
    /// tensors made in this call go back to `workspace`.
    /// `adjust` rewrites each step's output (its data in the engine's layout) as it is made.
    func runSteps(from: Int, env: inout [String: Value], workspace: inout [[Float]], override: StepOverride? = nil,
                  adjust: ((String, inout [Float]) -> Void)? = nil, observe: ((String, Tensor) -> Void)? = nil) throws {
        for i in from..<steps.count {
            let step = override?.index == i ? override!.step : steps[i]
            var buffer: [Float] = []
            if slots[i] >= 0 { swap(&buffer, &workspace[slots[i]]) }
            var v = try step.execute(env: env, engine: self, reuse: &buffer)
            adjust?(step.node.output, &v.data)
            env[step.node.output] = v
            observe?(step.node.output, v.tensor)
            for t in releases[i] {
                guard let old = env.removeValue(forKey: t), let p = producer[t], p >= from, slots[p] >= 0,
                      old.data.count == slotSizes[slots[p]] else { continue }
                workspace[slots[p]] = old.data
            }
        }
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
        var workspace = pool.take(slotSizes.count)
        defer { pool.give(workspace) }
        try runSteps(from: 0, env: &env, workspace: &workspace, observe: observe)
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
            var workspace = pool.take(slotSizes.count)
            defer { pool.give(workspace) }
            for (i, step) in steps.enumerated() {
                let t0 = DispatchTime.now().uptimeNanoseconds
                var buffer: [Float] = []
                if slots[i] >= 0 { swap(&buffer, &workspace[slots[i]]) }
                env[step.node.output] = try step.execute(env: env, engine: self, reuse: &buffer)
                totals[step.kindName, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
                for t in releases[i] {
                    if let old = env.removeValue(forKey: t), let p = producer[t], slots[p] >= 0, old.data.count == slotSizes[slots[p]] {
                        workspace[slots[p]] = old.data
                    }
                }
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

/// Sets of slot buffers kept between runs (one set per concurrent run).
final class WorkspacePool: @unchecked Sendable {
    private let lock = NSLock()
    private var sets: [[[Float]]] = []

    func take(_ count: Int) -> [[Float]] {
        lock.withLock { sets.popLast() } ?? [[Float]](repeating: [], count: count)
    }

    func give(_ set: [[Float]]) {
        lock.withLock { if sets.count < 8 { sets.append(set) } }
    }
}
