/// The integer model's structure as the graph determines it, shared by the quantizer, the
/// memory model and the search so they always agree on which layers and tensors exist.
public struct IntegerLayerSpec: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A convolution or fully connected layer with per-output-channel weights.
        case weighted(rows: Int, rowLength: Int, depthwise: Bool, kernelTaps: Int)
        /// An element-wise function on a lookup table of 2^b_in entries.
        case lookup
        /// An activation with a scalar or per-channel constant (Add, Mul, Div): int32 weight,
        /// bias, multiplier and shift per channel; PReLU: positive and negative multiplier and
        /// shift per channel.
        case affine(channels: Int)
        /// Output shares the input's quantization (max pool, reshape, pad, resize,
        /// depth-to-space, slice).
        case tied
        /// Anything else with its own output quantization (add, pools, channel mul).
        case plain
        /// A trailing Softmax left to the host.
        case hostSoftmax
    }

    public var node: Int
    public var name: String
    public var kind: Kind
    /// Activation inputs (constants excluded).
    public var inputs: [String]
    /// The tensor this layer writes (after fusing a following Relu/Clip).
    public var output: String
}

extension Graph {
    /// The integer layers in execution order.
    public func integerLayers() -> [IntegerLayerSpec] {
        let fused = fusedActivations()
        let skip = Set(fused.values.map(\.activation))
        var out: [IntegerLayerSpec] = []
        for (i, n) in nodes.enumerated() where !skip.contains(i) {
            let output = fused[i].map { nodes[$0.activation].output } ?? n.output
            let kind: IntegerLayerSpec.Kind
            switch n.op {
            case .conv(let c):
                let w = shape(n.inputs[1])
                let x = shape(n.inputs[0])
                let dw = IntegerLayout.isDepthwise(groups: c.group, inputChannels: x[1], outputChannels: w[0])
                let (rows, len) = IntegerLayout.convWeightRows(outputChannels: w[0], inputChannelsPerGroup: w[1], kernelTaps: w[2] * w[3], depthwise: dw)
                kind = .weighted(rows: rows, rowLength: len, depthwise: dw, kernelTaps: w[2] * w[3])
            case .fullyConnected:
                let w = shape(n.inputs[1])
                kind = .weighted(rows: w[0], rowLength: w[1], depthwise: false, kernelTaps: 1)
            case .relu, .clip, .sigmoid, .hardSigmoid, .hardSwish, .elementwise: kind = .lookup
            case .add where hasConstantOperand(n), .mul where hasConstantOperand(n), .div where hasConstantOperand(n):
                kind = .affine(channels: IntegerLayout.runs(shape(activationInputs(n).first ?? "")).runLength)
            case .prelu:
                kind = .affine(channels: IntegerLayout.runs(shape(n.inputs[0])).runLength)
            case .maxPool, .reshape, .pad, .transpose, .depthToSpace, .slice: kind = .tied
            case .resize: kind = .tied
            case .softmax where i == nodes.count - 1 && outputs.contains(n.output): kind = .hostSoftmax
            default: kind = .plain
            }
            out.append(IntegerLayerSpec(node: i, name: n.name, kind: kind, inputs: activationInputs(n), output: output))
        }
        return out
    }

    /// Whether an element-wise node has a constant operand (an affine layer when integer).
    public func hasConstantOperand(_ n: Node) -> Bool { n.inputs.contains(where: isConstant) }

    /// Output channels of a weighted layer (the per-channel parameter count).
    public func outputChannels(_ spec: IntegerLayerSpec) -> Int {
        let s = shape(spec.output)
        return s.count == 4 ? s[1] : (s.last ?? 0)
    }

    /// Packed storage of a tensor at `bits`: NHWC runs (pixels) of channels, each run padded to a
    /// whole byte; non-image tensors: one run per row of the last axis.
    public func packedTensorBytes(_ tensor: String, bits: Int) -> Int { IntegerLayout.packedBytes(shape: shape(tensor), bits: bits) }
}
