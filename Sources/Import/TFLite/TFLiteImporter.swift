import Foundation
import Graph

/// Reads a float TensorFlow Lite model (`.tflite`) into the IR.
///
/// TFLite images are NHWC; the IR's shapes are NCHW. Every rank-4 activation is mapped to its
/// NCHW shape, weights are re-laid out (OHWI → OIHW, depthwise 1HWO → O1HW), axes of Mean, Pad,
/// Concatenation and Softmax are mapped, and the graph is marked `.nhwc` so data files keep the
/// model's own layout. A Reshape of an image keeps TFLite's NHWC element order exactly: it becomes
/// a Transpose to NHWC, the Reshape, and a Transpose back when the result is an image (a
/// flatten into a FullyConnected then folds into its weight columns).
public enum TFLiteImporter {
    public static func load(_ url: URL, inputShape: [Int]? = nil) throws -> Graph {
        let file = url.lastPathComponent
        let bytes = try ModelFile.read(url)
        return try load(bytes: bytes, file: file, inputShape: inputShape)
    }

    public static func load(bytes: [UInt8], file: String, inputShape: [Int]? = nil) throws -> Graph {
        let reader = FlatBufferReader(bytes: bytes)
        let model: TFLiteModel
        do { model = try TFLiteModel(reader) } catch let e as FlatBufferError {
            throw ImportError(file: file, "not a valid TFLite FlatBuffer: \(e)")
        }
        guard model.subgraphs.count >= 1 else { throw ImportError(file: file, "the model has no subgraph") }
        var lowering = TFLiteLowering(reader: reader, model: model, subgraph: model.subgraphs[0], file: file)
        return try lowering.lower(inputShape: inputShape)
    }
}

struct TFLiteLowering {
    let reader: FlatBufferReader
    let model: TFLiteModel
    let subgraph: TFLiteModel.SubGraph
    let file: String
    var graph: Graph
    /// IR tensor name of each TFLite tensor index (unique, never empty).
    var names: [String]
    /// Float constants decoded from buffers, in the file's layout, by tensor index.
    var consts: [Int: Tensor] = [:]

    init(reader: FlatBufferReader, model: TFLiteModel, subgraph: TFLiteModel.SubGraph, file: String) {
        self.reader = reader
        self.model = model
        self.subgraph = subgraph
        self.file = file
        graph = Graph(name: subgraph.name.isEmpty ? (file as NSString).deletingPathExtension : subgraph.name, inputs: [], outputs: [])
        graph.layout = .nhwc
        var seen: Set<String> = []
        names = subgraph.tensors.enumerated().map { (i, t) in
            var n = t.name.isEmpty ? "tensor_\(i)" : t.name
            if seen.contains(n) { n += "#\(i)" }
            seen.insert(n)
            return n
        }
    }

    struct Message: Error { var text: String; init(_ t: String) { text = t } }

    mutating func lower(inputShape: [Int]?) throws -> Graph {
        let tensors = subgraph.tensors
        for (i, t) in tensors.enumerated() where t.buffer != 0 {
            guard t.buffer < model.buffers.count else {
                throw ImportError(file: file, "tensor \(i) '\(names[i])' names buffer \(t.buffer), the model has \(model.buffers.count)")
            }
            if !model.buffers[t.buffer].isEmpty {
                do { consts[i] = try t.sparsity == nil ? decodeConstant(i) : decodeSparse(i) } catch let e as Message {
                    throw ImportError(file: file, "tensor \(i) '\(names[i])': \(e.text)")
                }
            }
        }
        let realInputs = subgraph.inputs.filter { consts[$0] == nil }
        guard realInputs.count == 1, let input = realInputs.first, tensors.indices.contains(input) else {
            throw ImportError(file: file, "tinympq needs exactly one model input, this model has \(realInputs.count)")
        }
        let t = tensors[input]
        guard t.type == TFLiteModel.TensorType.float32 else {
            throw ImportError(file: file, "input '\(names[input])' is \(TFLiteModel.TensorType.name(t.type)); tinympq starts from the float model (FLOAT32 input), not an already quantized one")
        }
        guard t.shape.count >= 2, t.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
            throw ImportError(file: file, "input '\(names[input])' has shape \(t.shape); a batch axis and fixed positive dimensions are needed")
        }
        if let inputShape, Array(inputShape.dropFirst()) != Array(t.shape.dropFirst()) {
            throw ImportError(file: file, "inputShape \(inputShape) differs from the TFLite input's fixed shape \([1] + t.shape.dropFirst()); TFLite models cannot be reshaped here")
        }
        graph.inputs = [names[input]]
        graph.shapes[names[input]] = logicalShape([1] + t.shape.dropFirst())

        for (k, op) in subgraph.operators.enumerated() {
            guard model.operatorCodes.indices.contains(op.opcodeIndex) else {
                throw ImportError(file: file, "operator \(k) has opcode index \(op.opcodeIndex), the model has \(model.operatorCodes.count) operator codes")
            }
            let code = model.operatorCodes[op.opcodeIndex]
            let opName = code.custom.map { "custom op '\($0)'" } ?? TFLiteModel.builtinName(code.builtin)
            let outName = op.outputs.first.flatMap { names.indices.contains($0) ? names[$0] : nil } ?? "operator_\(k)"
            do {
                for t in op.inputs + op.outputs where t != -1 && !tensors.indices.contains(t) {
                    throw Message("tensor index \(t) is out of range (the subgraph has \(tensors.count) tensors)")
                }
                if let custom = code.custom {
                    try lowerCustomOperator(op, name: custom)
                } else {
                    try lowerOperator(op, code: code.builtin, index: k)
                }
            } catch let e as Message {
                throw ImportError(file: file, node: outName, op: opName, "operator \(k): \(e.text)")
            } catch let e as GraphError {
                throw ImportError(file: file, node: outName, op: opName, "operator \(k): \(e.message)")
            } catch let e as FlatBufferError {
                throw ImportError(file: file, node: outName, op: opName, "operator \(k): corrupt options: \(e)")
            }
        }
        graph.outputs = try subgraph.outputs.map { o in
            guard tensors.indices.contains(o), graph.nodes.contains(where: { $0.output == names[o] }) else {
                throw ImportError(file: file, "graph output \(o) is a constant, the input, or never computed")
            }
            return names[o]
        }
        graph.simplify()
        try ImportChecks.check(graph, file: file)
        return graph
    }

    // MARK: - Tensors

    /// NHWC → NCHW for rank 4; other ranks unchanged.
    func logicalShape(_ s: [Int]) -> [Int] { s.count == 4 ? [s[0], s[3], s[1], s[2]] : s }

    /// The NCHW axis of an NHWC axis of a rank-4 tensor.
    func logicalAxis(_ a: Int, rank: Int) throws -> Int {
        let axis = a < 0 ? a + rank : a
        guard axis >= 0, axis < rank else { throw Message("axis \(a) is out of range for rank \(rank)") }
        return rank == 4 ? [0, 2, 3, 1][axis] : axis
    }

    func decodeConstant(_ i: Int) throws -> Tensor {
        let t = subgraph.tensors[i]
        let range = model.buffers[t.buffer]
        guard let count = checkedCount(t.shape) else { throw Message("constant has an invalid shape \(t.shape)") }
        let b = reader.bytes
        typealias TT = TFLiteModel.TensorType
        let size: Int
        switch t.type {
        case TT.float32, TT.int32: size = 4
        case TT.float16: size = 2
        case TT.int64: size = 8
        default:
            throw Message("constant of type \(TT.name(t.type)); quantized TFLite models are not supported, tinympq starts from the float model")
        }
        guard range.count == count * size, range.lowerBound >= 0, range.upperBound <= b.count else {
            throw Message("buffer \(t.buffer) holds \(range.count) bytes, shape \(t.shape) of \(TT.name(t.type)) needs \(count * size)")
        }
        let base = range.lowerBound
        let data: [Float] = (0..<count).map { k in
            let p = base + k * size
            switch t.type {
            case TT.float32: return Float(bitPattern: reader.u32(p))
            case TT.int32: return Float(Int32(bitPattern: reader.u32(p)))
            case TT.float16: return Float(Float16(bitPattern: UInt16(b[p]) | UInt16(b[p + 1]) << 8))
            default: return Float(Int64(bitPattern: reader.u64(p)))
            }
        }
        return Tensor(shape: t.shape, data: data)
    }

    func constant(_ i: Int, _ role: String) throws -> Tensor {
        guard let c = consts[i] else { throw Message("\(role) '\(names[i])' must be a constant") }
        return c
    }

    func integers(_ i: Int, _ role: String) throws -> [Int] {
        try constant(i, role).data.map { v in
            guard v.isFinite, v.magnitude < 2_147_483_648 else { throw Message("\(role) '\(names[i])' holds \(v), not a whole number of a sensible size") }
            return Int(v)
        }
    }

    /// The IR name of an activation input, failing on constants and flattened images.
    func activation(_ i: Int) throws -> String {
        guard i >= 0 else { throw Message("a required input is missing") }
        guard consts[i] == nil else { throw Message("input '\(names[i])' is a constant where an activation is expected") }
        guard graph.shapes[names[i]] != nil else { throw Message("input '\(names[i])' is not produced by any earlier operator") }
        return names[i]
    }

    /// Adds a float constant under a fresh name and returns it.
    mutating func addConstant(_ t: Tensor, name: String) -> String {
        var n = name
        var k = 1
        while graph.shapes[n] != nil { n = "\(name)#\(k)"; k += 1 }
        graph.constants[n] = t
        graph.shapes[n] = t.shape
        return n
    }

    // MARK: - Operators

    mutating func lowerOperator(_ op: TFLiteModel.Operator, code: Int, index k: Int) throws {
        let r = reader
        let opt = op.options
        func input(_ n: Int) throws -> Int {
            guard op.inputs.count > n, op.inputs[n] >= 0 else { throw Message("input \(n) is missing") }
            return op.inputs[n]
        }
        func optInt(_ slot: Int, size: Int = 4, _ d: Int) throws -> Int {
            guard let opt else { return d }
            return try r.int(opt, slot, size: size, signed: true, default: d)
        }
        guard op.outputs.count == 1, op.outputs[0] >= 0 else { throw Message("expects one output, has \(op.outputs.count)") }
        let out = op.outputs[0]
        let outName = names[out]
        let fileOut = subgraph.tensors[out].shape

        switch code {
        case 3, 4: // CONV_2D, DEPTHWISE_CONV_2D
            let depthwise = code == 4
            let x = try activation(try input(0))
            let w = try constant(try input(1), "filter")
            let xs = graph.shape(x)
            guard xs.count == 4, w.shape.count == 4 else { throw Message("expects a rank-4 input and filter, got \(xs) and \(w.shape)") }
            let padding = try optInt(0, size: 1, 0)
            let strides = [try optInt(2, 1), try optInt(1, 1)] // stride_h, stride_w
            let dil = depthwise ? [try optInt(6, 1), try optInt(5, 1)] : [try optInt(5, 1), try optInt(4, 1)]
            let act = try optInt(depthwise ? 4 : 3, size: 1, 0)
            let kernel = [w.shape[1], w.shape[2]]
            guard strides.allSatisfy({ $0 >= 1 }), dil.allSatisfy({ $0 >= 1 }) else { throw Message("strides \(strides) and dilations \(dil) must be at least 1") }
            let weight: Tensor, group: Int
            if depthwise {
                // [1, KH, KW, C·M] → [C·M, 1, KH, KW]; output channel c·M + m reads input channel c.
                guard w.shape[0] == 1, w.shape[3] % xs[1] == 0 else { throw Message("depthwise filter \(w.shape) does not fit input channels \(xs[1])") }
                weight = w.transposed([3, 0, 1, 2])
                group = xs[1]
            } else {
                guard w.shape[3] > 0, xs[1] % w.shape[3] == 0 else { throw Message("filter \(w.shape) does not fit input channels \(xs[1])") }
                weight = w.transposed([0, 3, 1, 2])
                group = xs[1] / w.shape[3]
            }
            var inputs = [x, addConstant(weight, name: names[op.inputs[1]])]
            if op.inputs.count > 2, op.inputs[2] >= 0 { inputs.append(addConstant(try constant(op.inputs[2], "bias"), name: names[op.inputs[2]])) }
            let pads = try samePads(padding, size: [xs[2], xs[3]], kernel: kernel, strides: strides, dilations: dil)
            let conv = Conv2D(kernelShape: kernel, strides: strides, dilations: dil, pads: pads, group: group)
            try emit(.conv(conv), inputs: inputs, out: outName, activation: act)

        case 9: // FULLY_CONNECTED
            let xi = try input(0)
            var x = try activation(xi)
            let w = try constant(try input(1), "weights")
            guard w.shape.count == 2 else { throw Message("weights have shape \(w.shape), expected [out, in]") }
            if try optInt(1, size: 1, 0) != 0 { throw Message("shuffled weights formats are not supported") }
            let xs = graph.shape(x)
            if xs.count != 2 {
                // TFLite flattens the input to [-1, in]; the IR's FullyConnected reads the last axis.
                guard xs.reduce(1, *) == w.shape[1] else { throw Message("input \(xs) does not flatten to \(w.shape[1]) features") }
                let flat = x + "/flatten"
                try reshapeInFileOrder(x, target: [1, w.shape[1]], out: flat)
                x = flat
            }
            var inputs = [x, addConstant(w, name: names[op.inputs[1]])]
            if op.inputs.count > 2, op.inputs[2] >= 0 { inputs.append(addConstant(try constant(op.inputs[2], "bias"), name: names[op.inputs[2]])) }
            try emit(.fullyConnected, inputs: inputs, out: outName, activation: try optInt(0, size: 1, 0))

        case 0, 18, 41, 42: // ADD, MUL, SUB, DIV
            var inputs: [String] = []
            var rank = 0
            for n in 0..<2 where consts[try input(n)] == nil { rank = max(rank, graph.shape(try activation(try input(n))).count) }
            guard rank > 0 else { throw Message("both inputs are constants") }
            for n in 0..<2 {
                let i = try input(n)
                if let c = consts[i] { inputs.append(addConstant(broadcastConstant(c, rank: rank), name: names[i])) } else { inputs.append(try activation(i)) }
            }
            let arith: [Int: Op] = [0: .add, 18: .mul, 41: .sub, 42: .div]
            try emit(arith[code] ?? .add, inputs: inputs, out: outName, activation: try optInt(0, size: 1, 0))

        case 1, 17: // AVERAGE_POOL_2D, MAX_POOL_2D
            let x = try activation(try input(0))
            let xs = graph.shape(x)
            guard xs.count == 4 else { throw Message("expects a rank-4 input, got \(xs)") }
            let kernel = [try optInt(4, 0), try optInt(3, 0)], strides = [try optInt(2, 1), try optInt(1, 1)]
            guard kernel.allSatisfy({ $0 >= 1 }), strides.allSatisfy({ $0 >= 1 }) else { throw Message("filter \(kernel) and strides \(strides) must be at least 1") }
            let pads = try samePads(try optInt(0, size: 1, 0), size: [xs[2], xs[3]], kernel: kernel, strides: strides, dilations: [1, 1])
            let pool = Pool2D(kernelShape: kernel, strides: strides, pads: pads, countIncludePad: false)
            try emit(code == 1 ? .averagePool(pool) : .maxPool(pool), inputs: [x], out: outName, activation: try optInt(5, size: 1, 0))

        case 40: // MEAN
            let x = try activation(try input(0))
            let rank = graph.shape(x).count
            let axes = try integers(try input(1), "axes").map { try logicalAxis($0, rank: rank) }
            let keep = try optInt(0, size: 1, 0) != 0
            try emit(.reduceMean(axes: Array(Set(axes)).sorted(), keepDims: keep), inputs: [x], out: outName, activation: 0)

        case 34, 60: // PAD, PADV2
            let x = try activation(try input(0))
            let rank = graph.shape(x).count
            let p = try integers(try input(1), "paddings")
            guard p.count == 2 * rank, p.allSatisfy({ $0 >= 0 }) else { throw Message("paddings \(p) do not fit rank \(rank)") }
            var begins = [Int](repeating: 0, count: rank), ends = begins
            for a in 0..<rank {
                let l = try logicalAxis(a, rank: rank)
                begins[l] = p[2 * a]
                ends[l] = p[2 * a + 1]
            }
            var value: Float = 0
            if code == 60, op.inputs.count > 2, op.inputs[2] >= 0 { value = try constant(op.inputs[2], "constant value").data.first ?? 0 }
            try emit(.pad(pads: begins + ends, value: value), inputs: [x], out: outName, activation: 0)

        case 22: // RESHAPE: the output tensor's static shape is the target
            let x = try activation(try input(0))
            guard fileOut.count >= 1, fileOut.dropFirst().allSatisfy({ $0 > 0 }) else { throw Message("output shape \(fileOut) is not static") }
            try reshapeInFileOrder(x, target: [1] + fileOut.dropFirst(), out: outName)

        case 25: // SOFTMAX
            let x = try activation(try input(0))
            let beta = try opt.map { try r.float($0, 0, default: 0) } ?? 1
            guard beta == 1 else { throw Message("softmax with beta \(beta) is not supported (only 1)") }
            let rank = graph.shape(x).count
            try emit(.softmax(axis: try logicalAxis(rank - 1, rank: rank)), inputs: [x], out: outName, activation: 0)

        case 2: // CONCATENATION
            let inputs = try op.inputs.map { try activation($0) }
            guard let first = inputs.first else { throw Message("concatenation of no inputs") }
            let rank = graph.shape(first).count
            try emit(.concat(axis: try logicalAxis(try optInt(0, 0), rank: rank)), inputs: inputs, out: outName, activation: try optInt(1, size: 1, 0))

        case 19, 21, 117, 14: // RELU, RELU6, HARD_SWISH, LOGISTIC
            let x = try activation(try input(0))
            let irOp: Op = code == 19 ? .relu : code == 21 ? .clip(min: 0, max: 6) : code == 117 ? .hardSwish : .sigmoid
            try emit(irOp, inputs: [x], out: outName, activation: 0)

        case 6: // DEQUANTIZE: only of float16 constants, which become float32 constants
            let i = try input(0)
            guard let c = consts[i], subgraph.tensors[i].type == TFLiteModel.TensorType.float16 else {
                throw Message("only DEQUANTIZE of float16 weights is supported; this model is quantized, give tinympq the float model")
            }
            consts[out] = c

        default:
            try lowerMoreOperator(op, code: code, out: out)
        }
        // The IR's shape must be the file's, in NCHW.
        if let s = graph.shapes[outName], consts[out] == nil, !fileOut.isEmpty, s != logicalShape([1] + fileOut.dropFirst()) {
            throw Message("computed output shape \(s) (NCHW) differs from the file's \(fileOut) (NHWC)")
        }
    }

    /// Top, left, bottom, right pads for TFLite's SAME (0) or VALID (1) padding: SAME puts the
    /// odd pixel at the bottom/right.
    func samePads(_ padding: Int, size: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
        switch padding {
        case 1: return [0, 0, 0, 0]
        case 0:
            var begin = [0, 0], end = [0, 0]
            for a in 0..<2 {
                let out = (size[a] + strides[a] - 1) / strides[a]
                let span = (kernel[a] - 1) * dilations[a] + 1
                let total = max(0, (out - 1) * strides[a] + span - size[a])
                begin[a] = total / 2
                end[a] = total - total / 2
            }
            return [begin[0], begin[1], end[0], end[1]]
        default: throw Message("unknown padding \(padding)")
        }
    }

    /// A constant operand of an element-wise op, re-laid out to broadcast against NCHW
    /// activations of `rank`: rank-4 constants are transposed, a trailing channel vector becomes [C, 1, 1].
    func broadcastConstant(_ c: Tensor, rank: Int) -> Tensor {
        guard rank == 4 else { return c }
        switch c.shape.count {
        case 4: return c.transposed([0, 3, 1, 2])
        case 3: return c.transposed([2, 0, 1])
        case 1 where c.count > 1: return Tensor(shape: [c.count, 1, 1], data: c.data)
        default: return c
        }
    }

    /// Appends `op` writing `out`, followed by the fused activation when there is one.
    mutating func emit(_ op: Op, inputs: [String], out: String, activation: Int) throws {
        let act: Op?
        switch activation {
        case 0: act = nil
        case 1: act = .relu
        case 2: act = .clip(min: -1, max: 1)
        case 3: act = .clip(min: 0, max: 6)
        default: throw Message("fused activation \(activation == 4 ? "TANH" : activation == 5 ? "SIGN_BIT" : String(activation)) is not supported")
        }
        guard let act else {
            try graph.append(Node(name: out, op: op, inputs: inputs, output: out))
            return
        }
        let pre = out + "/pre_activation"
        try graph.append(Node(name: out, op: op, inputs: inputs, output: pre))
        try graph.append(Node(name: out + "/" + act.name.lowercased(), op: act, inputs: [pre], output: out))
    }
}
