import Kernels

/// The one source of every byte and MAC count of the integer model. The memory model, the
/// quantizer, the emitter, the arena planner and the searchers all ask here, so what the search
/// constrains is what the quantizer builds and the C project stores.
///
/// Layouts: an image [1, C, H, W] is stored NHWC as H·W runs of C codes; any other tensor as one
/// run per row of its last axis; every run packed LSB-first and padded to a whole byte
/// (`Kernels.packedBytes`).
public enum IntegerLayout {
    /// Runs and codes per run of a tensor of logical shape `shape`.
    public static func runs(_ shape: [Int]) -> (runs: Int, runLength: Int) {
        shape.count == 4 ? (shape[2] * shape[3], shape[1]) : (shape.dropLast().reduce(1, *), shape.last ?? 1)
    }

    /// Bytes of a packed tensor at `bits`.
    public static func packedBytes(shape: [Int], bits: Int) -> Int {
        let (r, len) = runs(shape)
        return r * Kernels.packedBytes(count: len, bits: bits)
    }

    /// Every arena buffer starts on this many bytes.
    public static let arenaAlignment = 4

    /// Bytes an arena buffer of `bytes` occupies (rounded up to the alignment).
    public static func aligned(_ bytes: Int) -> Int { (bytes + arenaAlignment - 1) / arenaAlignment * arenaAlignment }

    /// Bytes of the per-output-channel constants of a weighted layer: int32 bias, multiplier
    /// and shift.
    public static let channelConstantBytes = 12

    /// FLASH of a weighted layer: `rows` packed weight rows of `rowLength` codes, each padded to
    /// a byte, plus the per-channel constants of `channels` outputs.
    public static func weightedLayerBytes(rows: Int, rowLength: Int, weightBits: Int, channels: Int) -> Int {
        rows * Kernels.packedBytes(count: rowLength, bits: weightBits) + channelConstantBytes * channels
    }

    /// FLASH of an activation-with-constant layer: int32 weight, bias, multiplier and shift per
    /// channel.
    public static func affineLayerBytes(channels: Int) -> Int { 16 * channels }

    /// FLASH of a lookup table over every code of a `inputBits` input: one byte per entry.
    public static func lookupTableBytes(inputBits: Int) -> Int { 1 << inputBits }

    /// Multiply-accumulates of a layer that computes `outputElements` values, each a dot
    /// product of `rowLength` terms (convolution: kh·kw·cin/groups; fully connected: inC).
    public static func macs(outputElements: Int, rowLength: Int) -> Int { outputElements * rowLength }

    /// Whether a grouped convolution is depthwise: one group per input channel, one output per
    /// group (channel multiplier 1). Depthwise weights are stored [kh][kw][C], one row per tap.
    public static func isDepthwise(groups: Int, inputChannels: Int, outputChannels: Int) -> Bool {
        groups > 1 && groups == inputChannels && outputChannels == inputChannels
    }

    /// Packed weight rows of a convolution: depthwise, one row of C codes per tap; otherwise one
    /// row of kh·kw·cin/groups codes per output channel (OHWI).
    public static func convWeightRows(outputChannels: Int, inputChannelsPerGroup: Int, kernelTaps: Int, depthwise: Bool) -> (rows: Int, rowLength: Int) {
        depthwise ? (kernelTaps, outputChannels) : (outputChannels, kernelTaps * inputChannelsPerGroup)
    }
}
