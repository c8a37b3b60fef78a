import Foundation
import Graph

/// TFLite operators beyond the MobileNet set: element-wise functions, Sub/Div, PReLU,
/// Transpose, Squeeze/ExpandDims, Resize, TransposeConv, DepthToSpace, Densify; and reshapes in
/// TFLite's NHWC element order.
extension TFLiteLowering {
    static let supportedOperators = [
        "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV", "AVERAGE_POOL_2D", "MAX_POOL_2D",
        "MEAN", "PAD", "PADV2", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "SOFTMAX", "CONCATENATION", "RELU",
        "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LEAKY_RELU", "PRELU", "ELU", "GELU", "HARD_SWISH", "LOGISTIC", "TANH",
        "EXP", "LOG", "NEG", "ABS", "SQRT", "RSQRT", "SQUARE", "MAXIMUM", "MINIMUM", "RESIZE_BILINEAR",
        "RESIZE_NEAREST_NEIGHBOR", "TRANSPOSE_CONV", "DEPTH_TO_SPACE", "DENSIFY", "STRIDED_SLICE", "SLICE", "DEQUANTIZE of float16",
    ]

    mutating func lowerMoreOperator(_ op: TFLiteModel.Operator, code: Int, out: Int) throws {
        let r = reader
        let opt = op.options
        let outName = names[out]
        let fileOut = subgraph.tensors[out].shape
        func input(_ n: Int) throws -> Int {
            guard op.inputs.count > n, op.inputs[n] >= 0 else { throw Message("input \(n) is missing") }
            return op.inputs[n]
        }
        func optInt(_ slot: Int, size: Int = 4, _ d: Int) throws -> Int {
            guard let opt else { return d }
            return try r.int(opt, slot, size: size, signed: true, default: d)
        }
        func optBool(_ slot: Int) throws -> Bool {
            guard let opt else { return false }
            return try r.bool(opt, slot, default: false)
        }
        func unary(_ f: ScalarFunction) throws {
            try emit(.elementwise(f), inputs: [try activation(try input(0))], out: outName, activation: 0)
        }
        let name = TFLiteModel.builtinName(code)
        switch name {
        case "TANH": try unary(.unary(.tanh, .x))
        case "EXP": try unary(.unary(.exp, .x))
        case "LOG": try unary(.unary(.log, .x))
        case "NEG": try unary(.unary(.neg, .x))
        case "ABS": try unary(.unary(.abs, .x))
        case "SQRT": try unary(.unary(.sqrt, .x))
        case "RSQRT": try unary(.unary(.reciprocalSqrt, .x))
        case "SQUARE": try unary(.x * .x)
        case "ELU": try unary(.elu(1))
        case "GELU":
            if try optBool(0) {
                let inner = ScalarFunction.constant(0.7978845608) * (.x + .constant(0.044715) * .binary(.pow, .x, .constant(3)))
                try unary(.constant(0.5) * .x * (.constant(1) + .unary(.tanh, inner)))
            } else {
                try unary(.constant(0.5) * .x * (.constant(1) + .unary(.erf, .x / .constant(1.4142135624))))
            }
        case "RELU_N1_TO_1": try emit(.clip(min: -1, max: 1), inputs: [try activation(try input(0))], out: outName, activation: 0)
        case "RELU_0_TO_1": try emit(.clip(min: 0, max: 1), inputs: [try activation(try input(0))], out: outName, activation: 0)
        case "LEAKY_RELU":
            let alpha = try opt.map { try r.float($0, 0, default: 0) } ?? 0
            try unary(.leakyRelu(alpha))
        case "MAXIMUM", "MINIMUM":
            let a = try input(0), b = try input(1)
            guard (consts[a] == nil) != (consts[b] == nil), let c = consts[a] ?? consts[b], c.count == 1 else {
                throw Message("\(name) is supported between an activation and one constant value only")
            }
            try emit(.elementwise(.binary(name == "MAXIMUM" ? .max : .min, .x, .constant(c.data[0]))),
                     inputs: [try activation(consts[a] == nil ? a : b)], out: outName, activation: 0)
        case "PRELU":
            let x = try activation(try input(0))
            let alpha = try constant(try input(1), "alpha")
            let xs = graph.shape(x)
            let c = xs.count == 4 ? xs[1] : (xs.last ?? 1)
            let slope: Tensor
            if alpha.data.allSatisfy({ $0 == alpha.data.first }) {
                slope = Tensor(shape: [1], data: [alpha.data.first ?? 0])
            } else {
                guard alpha.count == c, alpha.shape.last == c, xs.count == 4 || xs.count == 2 else {
                    throw Message("alpha of shape \(alpha.shape) is neither one value nor one per channel of \(xs)")
                }
                slope = Tensor(shape: [c], data: alpha.data)
            }
            try emit(.prelu, inputs: [x, addConstant(slope, name: names[op.inputs[1]])], out: outName, activation: 0)
        case "TRANSPOSE":
            let x = try activation(try input(0))
            let rank = graph.shape(x).count
            let p = try integers(try input(1), "perm")
            guard p.sorted() == Array(0..<rank) else { throw Message("perm \(p) does not fit rank \(rank)") }
            // logical → file axes on the way in, file → logical on the way out.
            let toFile = rank == 4 ? [0, 2, 3, 1] : Array(0..<rank)
            let toLogical = rank == 4 ? [0, 3, 1, 2] : Array(0..<rank)
            try emit(.transpose(perm: toLogical.map { toFile[p[$0]] }), inputs: [x], out: outName, activation: 0)
        case "SQUEEZE", "EXPAND_DIMS":
            let x = try activation(try input(0))
            guard fileOut.count >= 1, fileOut.dropFirst().allSatisfy({ $0 > 0 }) else { throw Message("output shape \(fileOut) is not static") }
            try reshapeInFileOrder(x, target: [1] + fileOut.dropFirst(), out: outName)
        case "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR":
            let x = try activation(try input(0))
            let xs = graph.shape(x)
            guard xs.count == 4 else { throw Message("expects an image, got \(xs)") }
            let size = try integers(try input(1), "size")
            guard size.count == 2, size.allSatisfy({ $0 > 0 && $0 < 1 << 16 }) else { throw Message("size \(size) must be two positive values") }
            let bilinear = name == "RESIZE_BILINEAR"
            let align = try optBool(bilinear ? 2 : 0), half = try optBool(bilinear ? 3 : 1)
            let ratio = (0..<2).map { Float(size[$0]) / Float(xs[2 + $0]) }
            let resize: Resize
            if bilinear {
                resize = Resize(mode: .linear, coordinates: align ? .alignCorners : half ? .halfPixel : .asymmetric,
                                rounding: .floor, sizes: size, scales: ratio)
            } else {
                guard !(align && half) else { throw Message("align_corners together with half_pixel_centers is not supported") }
                // TFLite: floor((x + 0.5·hpc)·in/out), or round-half-up with align_corners.
                resize = Resize(mode: .nearest, coordinates: align ? .alignCorners : half ? .tfHalfPixelForNearest : .asymmetric,
                                rounding: align ? .roundPreferCeil : .floor, sizes: size, scales: ratio)
            }
            try emit(.resize(resize), inputs: [x], out: outName, activation: 0)
        case "TRANSPOSE_CONV":
            let x = try activation(try input(2))
            let w = try constant(try input(1), "filter")
            let shape = try integers(try input(0), "output_shape")
            guard shape.count == 4, w.shape.count == 4, shape[3] == w.shape[0] else {
                throw Message("filter \(w.shape) and output shape \(shape) do not fit together")
            }
            let padding = try optInt(0, size: 1, 0)
            guard padding == 0 || padding == 1 else { throw Message("unknown padding \(padding)") }
            try transposeConvolution(x: x, weight: w, weightName: names[op.inputs[1]], bias: op.inputs.count > 3 ? op.inputs[3] : nil,
                                     outputHW: [shape[1], shape[2]], strides: [try optInt(2, 1), try optInt(1, 1)], same: padding == 0,
                                     out: outName, activation: try optInt(3, size: 1, 0))
        case "STRIDED_SLICE", "SLICE":
            let x = try activation(try input(0))
            let xs = graph.shape(x)
            let rank = xs.count
            let fileIn = rank == 4 ? [xs[0], xs[2], xs[3], xs[1]] : xs
            let begin = try integers(try input(1), "begin")
            let second = try integers(try input(2), name == "SLICE" ? "size" : "end")
            let strides = name == "SLICE" ? [Int](repeating: 1, count: rank) : try integers(try input(3), "strides")
            guard begin.count == rank, second.count == rank, strides.count == rank else { throw Message("begin, end/size and strides must have \(rank) entries") }
            let (beginMask, endMask) = name == "SLICE" ? (0, 0) : (try optInt(0, 0), try optInt(1, 0))
            let (ellipsis, newAxis, shrink) = name == "SLICE" ? (0, 0, 0) : (try optInt(2, 0), try optInt(3, 0), try optInt(4, 0))
            let offset = name == "SLICE" ? false : try optBool(5)
            guard ellipsis == 0, newAxis == 0 else { throw Message("ellipsis and new-axis masks are not supported") }
            var lo = [Int](repeating: 0, count: rank), hi = xs, st = [Int](repeating: 1, count: rank)
            for i in 0..<rank {
                let d = fileIn[i]
                guard strides[i] >= 1 else { throw Message("stride \(strides[i]) is not supported (only positive strides)") }
                func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + d : v, 0), d) }
                let b = beginMask & (1 << i) != 0 ? 0 : clamp(begin[i])
                var e: Int
                if name == "SLICE" { e = second[i] < 0 ? d : b + second[i] }
                else if shrink & (1 << i) != 0 { e = b + 1 }
                else if endMask & (1 << i) != 0 { e = d }
                else { e = offset ? b + second[i] : clamp(second[i]) }
                e = min(e, d)
                guard b < e else { throw Message("slice of axis \(i) is empty") }
                let l = try logicalAxis(i, rank: rank)
                (lo[l], hi[l], st[l]) = (b, e, strides[i])
            }
            let sliced = shrink != 0 ? outName + "/slice" : outName
            try emit(.slice(starts: lo, ends: hi, steps: st), inputs: [x], out: sliced, activation: 0)
            if shrink != 0 { try reshapeInFileOrder(sliced, target: [1] + fileOut.dropFirst(), out: outName) }
        case "DEPTH_TO_SPACE":
            let b = try optInt(0, 0)
            guard b >= 1 else { throw Message("block_size \(b) must be positive") }
            try emit(.depthToSpace(blockSize: b, mode: .dcr), inputs: [try activation(try input(0))], out: outName, activation: 0)
        case "DENSIFY":
            let i = try input(0)
            guard let c = consts[i] else { throw Message("only DENSIFY of constant (sparse) weights is supported") }
            consts[out] = c
        default:
            throw Message("\(name) is not supported (supported: \(Self.supportedOperators.joined(separator: ", ")))")
        }
    }

    /// The custom operators of MediaPipe's float models that are plain ops:
    /// Convolution2DTransposeBias is TRANSPOSE_CONV with a bias (options: the raw
    /// TfLiteTransposeConvParams, padding 1 = SAME, 2 = VALID, then stride w and h as int32).
    mutating func lowerCustomOperator(_ op: TFLiteModel.Operator, name: String) throws {
        guard name == "Convolution2DTransposeBias" else {
            throw Message("custom operator '\(name)' is not supported (of custom operators only MediaPipe's Convolution2DTransposeBias is)")
        }
        guard op.outputs.count == 1, op.outputs[0] >= 0, op.inputs.count >= 2, op.inputs.allSatisfy({ $0 >= 0 }) else {
            throw Message("expects input, weights and bias and one output")
        }
        guard let raw = op.customOptions, raw.count >= 12 else { throw Message("custom options must hold padding and strides (12 bytes)") }
        let r = reader
        let field = { (k: Int) in Int(Int32(bitPattern: r.u32(raw.lowerBound + 4 * k))) }
        let (padding, strideW, strideH) = (field(0), field(1), field(2))
        guard padding == 1 || padding == 2 else { throw Message("padding \(padding) is not SAME (1) or VALID (2)") }
        let out = op.outputs[0]
        let fileOut = subgraph.tensors[out].shape
        guard fileOut.count == 4 else { throw Message("output shape \(fileOut) is not an image") }
        let x = try activation(op.inputs[0])
        let w = try constant(op.inputs[1], "filter")
        try transposeConvolution(x: x, weight: w, weightName: names[op.inputs[1]], bias: op.inputs.count > 2 ? op.inputs[2] : nil,
                                 outputHW: [fileOut[1], fileOut[2]], strides: [strideH, strideW], same: padding == 1,
                                 out: names[out], activation: 0)
    }

    /// TFLite's transposed convolution: weights [O, KH, KW, I], pads from the output size.
    mutating func transposeConvolution(x: String, weight w: Tensor, weightName: String, bias: Int?, outputHW: [Int], strides: [Int],
                                       same: Bool, out: String, activation: Int) throws {
        let xs = graph.shape(x)
        guard xs.count == 4, w.shape.count == 4, w.shape[3] == xs[1] else { throw Message("input \(xs) and filter \(w.shape) do not fit together") }
        guard strides.allSatisfy({ $0 >= 1 && $0 < 1 << 16 }), outputHW.allSatisfy({ $0 > 0 && $0 < 1 << 16 }) else {
            throw Message("strides \(strides) and output size \(outputHW) must be positive")
        }
        let k = [w.shape[1], w.shape[2]]
        var pads = [0, 0, 0, 0], outPad = [0, 0]
        for a in 0..<2 {
            let size = outputHW[a]
            var head = 0
            if same {  // as TFLite computes it from the output size
                let o = (size + strides[a] - 1) / strides[a]
                head = max(0, ((o - 1) * strides[a] + k[a] - size) / 2)
            }
            let full = (xs[2 + a] - 1) * strides[a] + k[a]
            let tail = full - head - size
            pads[a] = head
            if tail >= 0 { pads[a + 2] = tail } else { outPad[a] = -tail }
        }
        // [O, KH, KW, I] → [I, O, KH, KW]
        var inputs = [x, addConstant(w.transposed([3, 0, 1, 2]), name: weightName)]
        if let bias, bias >= 0 { inputs.append(addConstant(try constant(bias, "bias"), name: names[bias])) }
        let ct = ConvTranspose2D(kernelShape: k, strides: strides, dilations: [1, 1], pads: pads, outputPadding: outPad, group: 1)
        try emit(.convTranspose(ct), inputs: inputs, out: out, activation: activation)
    }

    /// Appends the nodes that reshape `x` as TFLite does, in NHWC element order, to `target` (a
    /// file shape, batch 1), the last one writing `out`: a transpose to NHWC first when `x` is an
    /// image whose layouts differ, and one back when the result is such an image.
    mutating func reshapeInFileOrder(_ x: String, target: [Int], out: String) throws {
        let xs = graph.shape(x)
        func layoutFree(_ s: [Int]) -> Bool { s.count != 4 || s[1] == 1 || s[2] * s[3] == 1 }
        let logicalTarget = logicalShape(target)
        if xs == logicalTarget {
            try graph.append(Node(name: out, op: .reshape(shape: logicalTarget), inputs: [x], output: out))
            return
        }
        var cur = x
        if !layoutFree(xs) {
            try graph.append(Node(name: out + "/to_nhwc", op: .transpose(perm: [0, 2, 3, 1]), inputs: [x], output: out + "/nhwc"))
            cur = out + "/nhwc"
        }
        if target.count == 4 && !layoutFree(logicalTarget) {
            try graph.append(Node(name: out + "/reshape", op: .reshape(shape: target), inputs: [cur], output: out + "/nhwc_out"))
            try graph.append(Node(name: out, op: .transpose(perm: [0, 3, 1, 2]), inputs: [out + "/nhwc_out"], output: out))
        } else {
            try graph.append(Node(name: out, op: .reshape(shape: logicalTarget), inputs: [cur], output: out))
        }
    }

    /// A sparse constant (TFLite's `SparsityParameters`: a traversal order over the dimensions
    /// and block dimensions, each DENSE or SPARSE_CSR) expanded to a dense tensor.
    func decodeSparse(_ i: Int) throws -> Tensor {
        let t = subgraph.tensors[i]
        guard let sp = t.sparsity else { return try decodeConstant(i) }
        let r = reader
        guard t.type == TFLiteModel.TensorType.float32 || t.type == TFLiteModel.TensorType.float16 else {
            throw Message("sparse constant of type \(TFLiteModel.TensorType.name(t.type)) is not supported")
        }
        let rank = t.shape.count
        guard rank >= 1, t.shape.allSatisfy({ $0 > 0 }), let total = checkedProduct(t.shape), total <= 1 << 28 else {
            throw Message("sparse constant has shape \(t.shape)")
        }
        let order = try r.int32s(sp, 0, "traversal_order") ?? Array(0..<rank)
        let blockMap = try r.int32s(sp, 1, "block_map") ?? []
        let dims = try r.tables(sp, 2, "dim_metadata")
        guard order.count == rank + blockMap.count, dims.count == order.count, Set(order) == Set(0..<order.count),
              blockMap.allSatisfy({ (0..<rank).contains($0) }) else {
            throw Message("sparsity parameters (traversal order \(order), block map \(blockMap)) do not fit shape \(t.shape)")
        }
        struct Level { var dense: Int; var segments: [Int]; var indices: [Int] }
        func indexVector(_ d: FlatBufferReader.Table, _ slot: Int) throws -> [Int] {
            let kind = try r.int(d, slot, size: 1, signed: false, default: 0)
            guard kind != 0, let v = try r.subTable(d, slot + 1, "sparse index vector") else { return [] }
            switch kind {
            case 1: return try r.int32s(v, 0, "Int32Vector") ?? []
            case 2:
                guard let vec = try r.vector(v, 0, elementSize: 2, "Uint16Vector") else { return [] }
                return (0..<vec.count).map { Int(r.u16(vec.start + 2 * $0)) }
            case 3:
                guard let range = try r.byteRange(v, 0, "Uint8Vector") else { return [] }
                return range.map { Int(r.u8($0)) }
            default: throw Message("unknown sparse index vector type \(kind)")
            }
        }
        let levels = try dims.map { d -> Level in
            let format = try r.int(d, 0, size: 1, signed: true, default: 0)
            if format == 0 {
                let size = try r.int(d, 1, size: 4, signed: true, default: 0)
                guard size > 0, size <= total else { throw Message("sparse dense dimension of size \(size) does not fit shape \(t.shape)") }
                return Level(dense: size, segments: [], indices: [])
            }
            return Level(dense: 0, segments: try indexVector(d, 2), indices: try indexVector(d, 4))
        }
        // Level of each traversed dimension: original ones 0..<rank, block ones rank + j.
        var levelOf = [Int](repeating: 0, count: order.count)
        for (l, d) in order.enumerated() { levelOf[d] = l }
        // Block sizes: the size of each block dimension's level.
        var blockSize = [Int](repeating: 1, count: rank)
        for (j, d) in blockMap.enumerated() {
            let l = levels[levelOf[rank + j]]
            guard l.dense > 0 else { throw Message("block dimension \(j) must be DENSE") }
            blockSize[d] = l.dense
        }
        // The buffer holds the stored (non-zero) values only.
        let range = model.buffers[t.buffer]
        let f16 = t.type == TFLiteModel.TensorType.float16
        let size = f16 ? 2 : 4
        guard range.count % size == 0 else { throw Message("sparse values of \(range.count) bytes are not whole elements") }
        let values: [Float] = stride(from: range.lowerBound, to: range.upperBound, by: size).map { p in
            f16 ? Float(Float16(bitPattern: r.u16(p))) : Float(bitPattern: r.u32(p))
        }
        var dense = [Float](repeating: 0, count: total)
        let strides = Tensor.strides(t.shape)
        var coords = [Int](repeating: 0, count: order.count)
        func visit(_ level: Int, _ pos: Int) throws {
            if level == order.count {
                guard pos < values.count else { throw Message("sparse constant has \(values.count) values, its indices reach \(pos)") }
                var off = 0
                for d in 0..<rank {
                    var c = coords[levelOf[d]]
                    if let j = blockMap.firstIndex(of: d) { c = c * blockSize[d] + coords[levelOf[rank + j]] }
                    guard c >= 0, c < t.shape[d] else { throw Message("sparse index \(c) is outside dimension \(d) of \(t.shape)") }
                    off += c * strides[d]
                }
                dense[off] = values[pos]
                return
            }
            let l = levels[level]
            if l.dense > 0 {
                let (first, overflow) = pos.multipliedReportingOverflow(by: l.dense)
                guard !overflow, first <= total else { throw Message("sparse positions of level \(level) run past the \(total) elements of \(t.shape)") }
                for k in 0..<l.dense {
                    coords[level] = k
                    try visit(level + 1, first + k)
                }
            } else {
                guard pos + 1 < l.segments.count else { throw Message("sparse segments of level \(level) end before position \(pos)") }
                let lo = l.segments[pos], hi = l.segments[pos + 1]
                guard lo >= 0, lo <= hi, hi <= l.indices.count else { throw Message("sparse segments of level \(level) are corrupt") }
                for k in lo..<hi {
                    coords[level] = l.indices[k]
                    try visit(level + 1, k)
                }
            }
        }
        try visit(0, 0)
        return Tensor(shape: t.shape, data: dense)
    }
}

func checkedProduct(_ s: [Int]) -> Int? {
    var p = 1
    for d in s {
        let (r, o) = p.multipliedReportingOverflow(by: d)
        if o { return nil }
        p = r
    }
    return p
}
