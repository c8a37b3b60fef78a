import Foundation
import Graph

/// ONNX op → IR op, one case per supported op type, reading attributes with ONNX's defaults for
/// the model's opset.
extension OnnxLowering {
    static let supportedOps = [
        "Conv", "BatchNormalization", "Relu", "Clip", "Add", "Mul", "Div", "Sigmoid", "HardSigmoid", "HardSwish",
        "GlobalAveragePool", "AveragePool", "MaxPool", "ReduceMean", "Flatten", "Reshape", "Transpose", "Gemm",
        "MatMul", "Softmax", "Pad", "Concat", "Identity", "Dropout", "Squeeze", "Unsqueeze", "Shape", "Gather",
        "Cast", "Slice", "Constant", "Sub", "PRelu", "LeakyRelu", "Elu", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt",
        "Reciprocal", "Softplus", "Softsign", "Mish", "Gelu", "Floor", "Ceil", "Round", "Max", "Min", "Pow", "Resize",
        "Upsample", "ConvTranspose", "DepthToSpace",
    ]

    func lowerOp(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String) throws -> Op {
        let xs = graph.shape(x)
        switch n.opType {
        case "Conv":
            guard inNames.count >= 2, let w = ins[1] else { throw ImportMessage("the weight input must be a constant (initializer or Constant node)") }
            guard w.shape.count == 4, xs.count == 4 else {
                throw ImportMessage("only 2-D convolutions are supported (input \(xs), weight \(w.shape))")
            }
            let k = try attrInts(n, "kernel_shape", w.shape.dropLast(0).suffix(2).map { Int64($0) }).map { Int($0) }
            guard k == Array(w.shape.suffix(2)) else { throw ImportMessage("kernel_shape \(k) does not match the weight shape \(w.shape)") }
            let strides = try positive(attrInts(n, "strides", [1, 1]), "strides")
            let dil = try positive(attrInts(n, "dilations", [1, 1]), "dilations")
            let pads = try windowPads(n, input: Array(xs.suffix(2)), kernel: k, strides: strides, dilations: dil)
            let group = Int(try attrInt(n, "group", 1))
            guard group >= 1 else { throw ImportMessage("group \(group) must be at least 1") }
            return .conv(Conv2D(kernelShape: k, strides: strides, dilations: dil, pads: pads, group: group))
        case "BatchNormalization":
            guard inNames.count == 5, (1...4).allSatisfy({ ins[$0] != nil }) else {
                throw ImportMessage("scale, bias, mean and variance must be constants")
            }
            let training = try attrInt(n, "training_mode", 0) != 0
            if training && n.outputs.dropFirst().contains(where: { !$0.isEmpty }) {
                throw ImportMessage("training-mode BatchNormalization is not supported; export the model in eval mode")
            }
            return .batchNorm
        case "Relu": return .relu
        case "Clip":
            var lo = -Float.infinity, hi = Float.infinity
            if opset < 11 {
                lo = try attrFloat(n, "min", lo)
                hi = try attrFloat(n, "max", hi)
            } else {
                for (i, isMin) in [(1, true), (2, false)] where i < inNames.count && !inNames[i].isEmpty {
                    guard let c = ins[i], c.count == 1 else { throw ImportMessage("Clip \(isMin ? "min" : "max") must be a constant scalar") }
                    if isMin { lo = c.floats[0] } else { hi = c.floats[0] }
                }
            }
            return .clip(min: lo, max: hi)
        case "Sigmoid": return .sigmoid
        case "HardSigmoid": return .hardSigmoid(alpha: try attrFloat(n, "alpha", 0.2), beta: try attrFloat(n, "beta", 0.5))
        case "HardSwish": return .hardSwish
        case "Add": return .add
        case "Sub": return .sub
        case "Mul": return .mul
        case "Div": return .div
        case "GlobalAveragePool":
            guard xs.count == 4 else { throw ImportMessage("expects an NCHW input, got \(xs)") }
            return .globalAveragePool
        case "AveragePool", "MaxPool":
            guard xs.count == 4 else { throw ImportMessage("only 2-D pooling on NCHW inputs is supported, input is \(xs)") }
            let k = try attrInts(n, "kernel_shape", nil).map { Int($0) }
            guard k.count == 2, k.allSatisfy({ $0 >= 1 }) else { throw ImportMessage("kernel_shape \(k) must hold two positive sizes") }
            let strides = try positive(attrInts(n, "strides", [1, 1]), "strides")
            let dil = try positive(attrInts(n, "dilations", [1, 1]), "dilations")
            guard dil == [1, 1] else { throw ImportMessage("dilated pooling is not supported") }
            let pads = try windowPads(n, input: Array(xs.suffix(2)), kernel: k, strides: strides, dilations: dil)
            let p = Pool2D(kernelShape: k, strides: strides, pads: pads,
                           countIncludePad: try attrInt(n, "count_include_pad", 0) != 0,
                           ceilMode: try attrInt(n, "ceil_mode", 0) != 0)
            return n.opType == "MaxPool" ? .maxPool(p) : .averagePool(p)
        case "ReduceMean":
            var axes: [Int64]
            if opset >= 18 {
                axes = inNames.count > 1 && !inNames[1].isEmpty ? (ins[1]?.ints ?? []) : []
                if inNames.count > 1 && !inNames[1].isEmpty && ins[1] == nil { throw ImportMessage("axes must be a constant") }
            } else {
                axes = try attrInts(n, "axes", [])
            }
            if axes.isEmpty {
                if try attrInt(n, "noop_with_empty_axes", 0) != 0 { throw ImportMessage("ReduceMean as a no-op is not supported") }
                axes = (0..<Int64(xs.count)).map { $0 }
            }
            let norm = try Set(axes.map { try normAxis($0, xs.count) }).sorted()
            return .reduceMean(axes: norm, keepDims: try attrInt(n, "keepdims", 1) != 0)
        case "Flatten", "Reshape", "Squeeze", "Unsqueeze":
            return .reshape(shape: try reshapeTarget(n, input: xs, shapeInput: ins.count > 1 ? ins[1] : nil))
        case "Transpose":
            let perm = try attrInts(n, "perm", Array((0..<Int64(xs.count)).reversed())).map { Int($0) }
            return .transpose(perm: perm)
        case "Gemm", "MatMul":
            guard inNames.first == x else { throw ImportMessage("the first input must be an activation and the second a constant weight") }
            guard inNames.count >= 2, let b = ins[1], b.shape.count == 2 else {
                throw ImportMessage("the second input must be a constant 2-D weight; a product of two activations is not supported")
            }
            if n.opType == "Gemm" {
                guard try attrInt(n, "transA", 0) == 0 else { throw ImportMessage("transA=1 is not supported") }
                guard xs.count == 2 else { throw ImportMessage("Gemm input must be 2-D, got \(xs)") }
            }
            return .fullyConnected
        case "Softmax":
            let axis = try normAxis(try attrInt(n, "axis", opset >= 13 ? -1 : 1), xs.count)
            return .softmax(axis: axis)
        case "Pad":
            let mode = try attrString(n, "mode", "constant")
            guard mode == "constant" else { throw ImportMessage("pad mode '\(mode)' is not supported (only 'constant')") }
            var pads: [Int64], value: Float = 0
            if opset < 11 {
                pads = try attrInts(n, "pads", nil)
                value = try attrFloat(n, "value", 0)
            } else {
                guard inNames.count >= 2, let p = ins[1] else { throw ImportMessage("pads must be a constant") }
                pads = p.ints
                if inNames.count > 2 && !inNames[2].isEmpty {
                    guard let v = ins[2], v.count == 1 else { throw ImportMessage("constant_value must be a constant scalar") }
                    value = v.floats[0]
                }
                if inNames.count > 3 && !inNames[3].isEmpty {
                    guard let a = ins[3] else { throw ImportMessage("axes must be a constant") }
                    let axes = try a.ints.map { try normAxis($0, xs.count) }
                    var full = [Int64](repeating: 0, count: 2 * xs.count)
                    for (i, ax) in axes.enumerated() {
                        full[ax] = pads[i]
                        full[ax + xs.count] = pads[i + axes.count]
                    }
                    pads = full
                }
            }
            guard pads.count == 2 * xs.count else { throw ImportMessage("pads \(pads) do not fit an input of rank \(xs.count)") }
            guard pads.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw ImportMessage("pads \(pads) must be non-negative and sane (cropping is not supported)") }
            return .pad(pads: pads.map { Int($0) }, value: value)
        case "Concat":
            return .concat(axis: try normAxis(try attrInt(n, "axis", nil), xs.count))
        case "PRelu", "LeakyRelu", "Elu", "Tanh", "Exp", "Log", "Neg", "Abs", "Sqrt", "Reciprocal", "Softplus", "Softsign", "Mish",
             "Gelu", "Floor", "Ceil", "Round", "Max", "Min", "Pow":
            return try lowerElementwise(n, inNames: inNames, ins: ins, x: x)
        case "Resize", "Upsample":
            return try lowerResize(n, inNames: inNames, ins: ins, x: x)
        case "ConvTranspose":
            return try lowerConvTranspose(n, inNames: inNames, ins: ins, x: x)
        case "DepthToSpace":
            let b = try attrInt(n, "blocksize", nil)
            guard b >= 1, b < 1 << 10 else { throw ImportMessage("blocksize \(b) must be positive") }
            let mode = try attrString(n, "mode", "DCR")
            guard let m = DepthToSpaceMode(rawValue: mode.lowercased()) else { throw ImportMessage("mode '\(mode)' must be DCR or CRD") }
            return .depthToSpace(blockSize: Int(b), mode: m)
        case "Cast":
            throw ImportMessage("Cast of an activation to type \(try attrInt(n, "to", 0)) is not supported (only to float)")
        case "Slice":
            return try lowerSlice(n, inNames: inNames, ins: ins, x: x)
        case "Gather", "Shape", "Constant":
            throw ImportMessage("\(n.opType) on activations is not supported (only on constant shape sub-graphs)")
        default:
            throw ImportMessage("op '\(n.opType)' is not supported. Supported ops: \(Self.supportedOps.joined(separator: ", "))")
        }
    }

    /// Weight inputs in the IR's conventions (conv OIHW as is; fully connected [out][in] with
    /// alpha/beta applied; BatchNorm as per-channel scale and shift).
    mutating func weightInputs(_ n: OnnxNode, op: Op, inNames: [String], ins: [ConstTensor?], x: String, name: String) throws -> [String] {
        switch op {
        case .conv, .convTranspose:
            var r = [x, registerConstant(inNames[1], ins[1]!)]
            if inNames.count > 2 && !inNames[2].isEmpty {
                guard let b = ins[2] else { throw ImportMessage("the bias must be a constant") }
                r.append(registerConstant(inNames[2], b))
            }
            return r
        case .batchNorm:
            let (g, b, m, v) = (ins[1]!.floats, ins[2]!.floats, ins[3]!.floats, ins[4]!.floats)
            let c = graph.shape(x)[1]
            guard [g, b, m, v].allSatisfy({ $0.count == c }) else { throw ImportMessage("parameters do not have \(c) channels") }
            let eps = try attrFloat(n, "epsilon", 1e-5)
            let scale = (0..<c).map { g[$0] / (v[$0] + eps).squareRoot() }
            let shift = (0..<c).map { b[$0] - m[$0] * scale[$0] }
            return [x, addConstant(name + "#scale", shape: [c], data: scale), addConstant(name + "#shift", shape: [c], data: shift)]
        case .fullyConnected:
            let bmat = ins[1]!
            let transB = n.opType == "Gemm" ? try attrInt(n, "transB", 0) != 0 : false
            let alpha = n.opType == "Gemm" ? try attrFloat(n, "alpha", 1) : 1
            let beta = n.opType == "Gemm" ? try attrFloat(n, "beta", 1) : 1
            let (rows, cols) = (bmat.shape[0], bmat.shape[1])
            let (out, inn) = transB ? (rows, cols) : (cols, rows)
            let bv = bmat.floats
            var w = [Float](repeating: 0, count: out * inn)
            for o in 0..<out { for i in 0..<inn { w[o * inn + i] = alpha * (transB ? bv[o * cols + i] : bv[i * cols + o]) } }
            var r = [x, addConstant(name + "#weight", shape: [out, inn], data: w)]
            if n.opType == "Gemm", inNames.count > 2, !inNames[2].isEmpty {
                guard let c = ins[2] else { throw ImportMessage("the bias C must be a constant") }
                let cv = c.floats
                guard c.count == out || c.count == 1 else { throw ImportMessage("bias C of shape \(c.shape) does not broadcast to [\(out)]") }
                r.append(addConstant(name + "#bias", shape: [out], data: (0..<out).map { beta * cv[c.count == 1 ? 0 : $0] }))
            }
            return r
        default:
            return [x]
        }
    }

    /// Output shape of Flatten, Reshape, Squeeze and Unsqueeze.
    func reshapeTarget(_ n: OnnxNode, input: [Int], shapeInput: ConstTensor?) throws -> [Int] {
        let total = input.reduce(1, *)
        func axesArg() throws -> [Int64]? {
            if opset >= 13 {
                guard n.inputs.count > 1, !n.inputs[1].isEmpty else { return nil }
                guard let s = shapeInput else { throw ImportMessage("axes must be a constant") }
                return s.ints
            }
            return n.attributes["axes"] == nil ? nil : try attrInts(n, "axes", nil)
        }
        switch n.opType {
        case "Flatten":
            let axis = try normAxisClamped(try attrInt(n, "axis", 1), input.count)
            return [input.prefix(axis).reduce(1, *), input.dropFirst(axis).reduce(1, *)]
        case "Squeeze":
            if let axes = try axesArg() {
                let norm = try Set(axes.map { try normAxis($0, input.count) })
                for a in norm where input[a] != 1 { throw ImportMessage("cannot squeeze axis \(a) of size \(input[a])") }
                return input.enumerated().filter { !norm.contains($0.offset) }.map(\.element)
            }
            return input.filter { $0 != 1 }
        case "Unsqueeze":
            guard let axes = try axesArg() else { throw ImportMessage("Unsqueeze needs axes") }
            let rank = input.count + axes.count
            let norm = try Set(axes.map { try normAxis($0, rank) })
            guard norm.count == axes.count else { throw ImportMessage("repeated axes \(axes)") }
            var it = input.makeIterator()
            return (0..<rank).map { norm.contains($0) ? 1 : (it.next() ?? 1) }
        default:  // Reshape
            guard let s = shapeInput else { throw ImportMessage("the target shape must be a constant (or computed from shapes)") }
            let allowZero = try attrInt(n, "allowzero", 0) != 0
            var out = try s.ints.enumerated().map { i, d -> Int in
                if d == 0 && !allowZero {
                    guard i < input.count else { throw ImportMessage("shape \(s.ints) copies dimension \(i), which the input \(input) lacks") }
                    return input[i]
                }
                guard d >= -1, d < 1 << 31 else { throw ImportMessage("invalid target dimension \(d) in \(s.ints)") }
                return Int(d)
            }
            if let free = out.firstIndex(of: -1) {
                guard out.filter({ $0 == -1 }).count == 1 else { throw ImportMessage("shape \(s.ints) has more than one -1") }
                let known = out.enumerated().filter { $0.offset != free }.reduce(1) { $0 * $1.element }
                guard known > 0, total % known == 0 else { throw ImportMessage("cannot reshape \(input) to \(s.ints)") }
                out[free] = total / known
            }
            guard out.reduce(1, *) == total else { throw ImportMessage("cannot reshape \(input) to \(s.ints)") }
            return out
        }
    }

    /// [top, left, bottom, right] from `pads` or `auto_pad`.
    func windowPads(_ n: OnnxNode, input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
        let auto = try attrString(n, "auto_pad", "NOTSET")
        switch auto {
        case "NOTSET":
            let p = try attrInts(n, "pads", [0, 0, 0, 0])
            guard p.count == 4, p.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw ImportMessage("pads \(p) must be four non-negative values") }
            return p.map { Int($0) }
        case "VALID":
            return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            var begin = [0, 0], end = [0, 0]
            for a in 0..<2 {
                let out = (input[a] + strides[a] - 1) / strides[a]
                let total = max(0, (out - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - input[a])
                begin[a] = auto == "SAME_UPPER" ? total / 2 : total - total / 2
                end[a] = total - begin[a]
            }
            return [begin[0], begin[1], end[0], end[1]]
        default:
            throw ImportMessage("auto_pad '\(auto)' is not a valid value")
        }
    }

    func positive(_ v: [Int64], _ what: String) throws -> [Int] {
        guard v.count == 2, v.allSatisfy({ $0 >= 1 && $0 < 1 << 16 }) else { throw ImportMessage("\(what) \(v) must be two positive values") }
        return v.map { Int($0) }
    }

    // MARK: attributes

    func attrInt(_ n: OnnxNode, _ key: String, _ def: Int64?) throws -> Int64 {
        switch n.attributes[key] {
        case .int(let v)?: return v
        case nil: if let def { return def }; throw ImportMessage("required attribute '\(key)' is missing")
        default: throw ImportMessage("attribute '\(key)' should be an integer")
        }
    }

    func attrInts(_ n: OnnxNode, _ key: String, _ def: [Int64]?) throws -> [Int64] {
        switch n.attributes[key] {
        case .ints(let v)?: return v
        case nil: if let def { return def }; throw ImportMessage("required attribute '\(key)' is missing")
        default: throw ImportMessage("attribute '\(key)' should be a list of integers")
        }
    }

    func attrFloat(_ n: OnnxNode, _ key: String, _ def: Float) throws -> Float {
        switch n.attributes[key] {
        case .float(let v)?: return v
        case nil: return def
        default: throw ImportMessage("attribute '\(key)' should be a float")
        }
    }

    func attrString(_ n: OnnxNode, _ key: String, _ def: String) throws -> String {
        switch n.attributes[key] {
        case .string(let v)?: return v
        case nil: return def
        default: throw ImportMessage("attribute '\(key)' should be a string")
        }
    }
}
