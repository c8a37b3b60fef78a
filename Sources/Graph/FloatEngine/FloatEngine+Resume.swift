/// Partial re-runs for sensitivity measurement: keep every activation of one float run (a
/// trace), then re-run only the steps after a perturbed tensor or with one layer's weights
/// replaced, reusing the traced activations up to that point.
public struct FloatTrace: Sendable {
    var values: [String: Value]
    public let outputs: [Tensor]
}

/// One step of the engine prepared with different weights.
public struct StepOverride: Sendable {
    let index: Int
    let step: Step
}

extension FloatEngine {
    public func trace(_ image: Tensor) throws -> FloatTrace {
        var env: [String: Value] = [graph.inputs[0]: Value(logical: image)]
        for step in steps {
            var fresh: [Float] = []
            env[step.node.output] = try step.execute(env: env, engine: self, reuse: &fresh)
        }
        let outs = try graph.outputs.map { name -> Tensor in
            guard let v = env[name] else { throw GraphError(node: name, op: "Output", "graph output is never computed") }
            return v.tensor
        }
        return FloatTrace(values: env, outputs: outs)
    }

    /// The step that writes `tensor` (after activation fusion), or nil for the graph input.
    public func stepIndex(producing tensor: String) -> Int? { steps.firstIndex { $0.node.output == tensor } }

    /// The step that runs node `name`.
    public func stepIndex(node name: String) -> Int? { steps.firstIndex { $0.node.name == name } }

    /// Prepares step `index` with constant `constant` replaced by `value`.
    public func override(step index: Int, constant: String, value: Tensor) throws -> StepOverride {
        var g = graph
        g.constants[constant] = value
        let s = steps[index]
        return StepOverride(index: index, step: try Step.prepare(s.node, graph: g, lo: s.lo, hi: s.hi))
    }

    /// Re-runs from step `from` on the traced activations. `perturb` rewrites the traced value
    /// of one tensor first (its data in the engine's layout; element-wise changes only);
    /// `override` swaps in a differently weighted step.
    public func resume(_ trace: FloatTrace, from: Int, perturb: (tensor: String, apply: (inout [Float]) -> Void)? = nil,
                       override: StepOverride? = nil) throws -> [Tensor] {
        var env = trace.values
        if let p = perturb, var v = env[p.tensor] {
            p.apply(&v.data)
            env[p.tensor] = v
        }
        var workspace = pool.take(slotSizes.count)
        defer { pool.give(workspace) }
        try runSteps(from: from, env: &env, workspace: &workspace, override: override)
        return try graph.outputs.map { name in
            guard let v = env[name] else { throw GraphError(node: name, op: "Output", "graph output is never computed") }
            return v.tensor
        }
    }

    /// Runs one image (batch 1), letting `adjust` rewrite every step output as it is made (its
    /// data in the engine's layout: element-wise changes only), e.g. to simulate quantized
    /// activations.
    public func run(image: Tensor, adjust: (String, inout [Float]) -> Void) throws -> [Tensor] {
        var env: [String: Value] = [graph.inputs[0]: Value(logical: image)]
        var workspace = pool.take(slotSizes.count)
        defer { pool.give(workspace) }
        try withoutActuallyEscaping(adjust) { a in try runSteps(from: 0, env: &env, workspace: &workspace, adjust: a) }
        return try graph.outputs.map { name in
            guard let v = env[name] else { throw GraphError(node: name, op: "Output", "graph output is never computed") }
            return v.tensor
        }
    }
}
