import Graph

/// The one memory model: FLASH and RAM of an integer model for given bits, used by the search,
/// the codegen and the report, so what is constrained is what is emitted.
///
/// FLASH = Σ packed weight bytes (each row padded to a byte) + 12 bytes per output channel
/// (int32 bias, multiplier and shift) + lookup tables (one byte per entry, 2^b_in entries).
/// RAM = the greedy arena over activation lifetimes (`ArenaPlan`); the network input counts at
/// 8 bits, each tensor at its own bits, every buffer aligned to 4 bytes.
public struct MemoryModel: Sendable {
    public let graph: Graph
    public let layers: [IntegerLayerSpec]
    /// Activation tensors in arena order: the input first, then each layer's output.
    public let tensors: [String]
    /// Tensor → the tensor whose bits it uses (tied outputs follow their input).
    public let bitsSource: [String: String]
    /// Tensors stored under another shape than their logical one: an image transposed to NHWC
    /// is a re-view of its NHWC storage, [1, H·W, C].
    public let storedShapes: [String: [Int]]
    /// Per-step lifetimes (step 0 = the input is written; step i+1 = layer i runs).
    let lifetimes: [String: (first: Int, last: Int)]

    public init(graph: Graph) {
        self.graph = graph
        let layers = graph.integerLayers().filter { $0.kind != .hostSoftmax }
        self.layers = layers
        var tensors = [graph.inputs[0]]
        var source: [String: String] = [graph.inputs[0]: graph.inputs[0]]
        var life: [String: (first: Int, last: Int)] = [graph.inputs[0]: (0, 0)]
        for (i, l) in layers.enumerated() {
            tensors.append(l.output)
            source[l.output] = l.kind == .tied ? (source[l.inputs[0]] ?? l.inputs[0]) : l.output
            life[l.output] = (i + 1, i + 1)
            for t in l.inputs { if let lt = life[t] { life[t] = (lt.first, i + 1) } }
        }
        // Model outputs stay until the end.
        let end = layers.count
        for o in layers.map(\.output) where graph.outputs.contains(o) || o == layers.last?.output {
            if let lt = life[o] { life[o] = (lt.first, end) }
        }
        self.tensors = tensors
        self.bitsSource = source
        var stored: [String: [Int]] = [:]
        for n in graph.nodes {
            if case .transpose(let perm) = n.op, perm == [0, 2, 3, 1], case let s = graph.shape(n.output), s.count == 4 { stored[n.output] = [1, s[1] * s[2], s[3]] }
        }
        self.storedShapes = stored
        self.lifetimes = life
    }

    /// Bits of every activation tensor under `activationBits` (by searchable tensor name).
    public func tensorBits(_ activationBits: (String) -> Int) -> [String: Int] {
        var bits: [String: Int] = [:]
        for t in tensors { bits[t] = t == graph.inputs[0] ? 8 : activationBits(bitsSource[t] ?? t) }
        for t in tensors where bitsSource[t] != t { bits[t] = bits[bitsSource[t] ?? t] ?? 8 }
        return bits
    }

    /// FLASH bytes of the parameters for the given bits.
    public func flashBytes(weightBits: (String) -> Int, activationBits: (String) -> Int) -> Int {
        let tb = tensorBits(activationBits)
        return layers.reduce(0) { acc, l in acc + layerFlash(l, weightBits: weightBits(l.name), inputBits: tb[l.inputs.first ?? ""] ?? 8) }
    }

    /// Parameter bytes of one layer.
    public func layerFlash(_ l: IntegerLayerSpec, weightBits: Int, inputBits: Int) -> Int {
        switch l.kind {
        case .weighted(let rows, let len, _, _):
            return IntegerLayout.weightedLayerBytes(rows: rows, rowLength: len, weightBits: weightBits, channels: graph.outputChannels(l))
        case .lookup: return IntegerLayout.lookupTableBytes(inputBits: inputBits)
        case .affine(let channels): return IntegerLayout.affineLayerBytes(channels: channels)
        default: return 0
        }
    }

    /// Arena bytes of one activation tensor at `bits` (packed, aligned).
    public func bufferBytes(_ tensor: String, bits: Int) -> Int {
        IntegerLayout.aligned(IntegerLayout.packedBytes(shape: storedShapes[tensor] ?? graph.shape(tensor), bits: bits))
    }

    /// The arena for the given activation bits.
    public func arena(activationBits: (String) -> Int) -> ArenaPlan {
        let tb = tensorBits(activationBits)
        return ArenaPlan(buffers: tensors.map { t in
            let lt = lifetimes[t] ?? (0, 0)
            return (name: t, size: bufferBytes(t, bits: tb[t] ?? 8), first: lt.first, last: lt.last)
        })
    }

    /// The arena's lower bound (max over steps of the live bytes) without placing buffers:
    /// cheap enough for per-step checks inside a search.
    public func liveBound(activationBits: (String) -> Int) -> Int {
        let tb = tensorBits(activationBits)
        return ArenaPlan.peakLive(tensors.compactMap { t in
            lifetimes[t].map { (size: bufferBytes(t, bits: tb[t] ?? 8), first: $0.first, last: $0.last) }
        }).bytes
    }

    /// Tensors live at each step (for the exact RAM search and the live-bytes lower bound).
    public func liveTensors(step: Int) -> [String] {
        tensors.filter { t in (lifetimes[t].map { $0.first <= step && step <= $0.last }) ?? false }
    }

    public var steps: Int { layers.count + 1 }

    /// The layer that runs at `step` (nil for step 0, the input).
    public func layer(atStep step: Int) -> IntegerLayerSpec? { step >= 1 && step <= layers.count ? layers[step - 1] : nil }
}
