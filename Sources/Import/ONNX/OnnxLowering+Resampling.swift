import Foundation
import Graph

/// ONNX element-wise functions, PRelu, Resize/Upsample and ConvTranspose.
extension OnnxLowering {
    /// Unary functions (and Max/Min/Pow with a scalar constant) as one `elementwise` tree;
    /// PRelu as `prelu`.
    func lowerElementwise(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String) throws -> Op {
        func unary(_ u: ScalarFunction.Unary) -> Op { .elementwise(.unary(u, .x)) }
        switch n.opType {
        case "PRelu": return .prelu
        case "LeakyRelu": return .elementwise(.leakyRelu(try attrFloat(n, "alpha", 0.01)))
        case "Elu": return .elementwise(.elu(try attrFloat(n, "alpha", 1)))
        case "Tanh": return unary(.tanh)
        case "Exp": return unary(.exp)
        case "Log": return unary(.log)
        case "Neg": return unary(.neg)
        case "Abs": return unary(.abs)
        case "Sqrt": return unary(.sqrt)
        case "Floor": return unary(.floor)
        case "Ceil": return unary(.ceil)
        case "Round": return unary(.round)
        case "Softplus": return unary(.softplus)
        case "Reciprocal": return .elementwise(.constant(1) / .x)
        case "Softsign": return .elementwise(.x / (.constant(1) + .unary(.abs, .x)))
        case "Mish": return .elementwise(.x * .unary(.tanh, .unary(.softplus, .x)))
        case "Gelu":
            if try attrString(n, "approximate", "none") == "tanh" {
                let inner = ScalarFunction.constant(0.7978845608) * (.x + .constant(0.044715) * .binary(.pow, .x, .constant(3)))
                return .elementwise(.constant(0.5) * .x * (.constant(1) + .unary(.tanh, inner)))
            }
            return .elementwise(.constant(0.5) * .x * (.constant(1) + .unary(.erf, .x / .constant(1.4142135624))))
        default:  // Max, Min, Pow: an activation and scalar constants
            guard inNames.filter({ !$0.isEmpty && consts[$0] == nil }).count == 1 else {
                throw ImportMessage("\(n.opType) of two activations is not supported (only with constant scalars)")
            }
            var f: ScalarFunction? = nil
            for (i, t) in inNames.enumerated() where !t.isEmpty {
                let term: ScalarFunction
                if let c = ins[i] {
                    guard c.count == 1 else { throw ImportMessage("\(n.opType) with a non-scalar constant \(c.shape) is not supported") }
                    term = .constant(c.floats[0])
                } else { term = .x }
                guard let acc = f else { f = term; continue }
                switch n.opType {
                case "Max": f = .binary(.max, acc, term)
                case "Min": f = .binary(.min, acc, term)
                default:
                    guard i == 1, acc == .x else { throw ImportMessage("Pow needs an activation base and a constant exponent") }
                    f = .binary(.pow, acc, term)
                }
            }
            guard let f else { throw ImportMessage("\(n.opType) has no inputs") }
            return .elementwise(f)
        }
    }

    /// The PRelu slope as a [C] or [1] constant.
    mutating func preluSlope(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String, name: String) throws -> String {
        guard inNames.count == 2, let s = ins[1] else { throw ImportMessage("the slope must be a constant") }
        let xs = graph.shape(x)
        if s.count == 1 { return addConstant(name + "#slope", shape: [1], data: s.floats) }
        let padded = [Int](repeating: 1, count: max(0, xs.count - s.shape.count)) + s.shape
        guard xs.count >= 2, padded.count == xs.count, s.count == xs[1],
              padded.enumerated().allSatisfy({ $0.offset == 1 || $0.element == 1 }) else {
            throw ImportMessage("slope of shape \(s.shape) is neither one value nor one per channel of \(xs)")
        }
        return addConstant(name + "#slope", shape: [xs[1]], data: s.floats)
    }

    /// Resize (opset 10, 11, 13, 18) and Upsample (opset 7, 9) on H and W.
    func lowerResize(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String) throws -> Op {
        let xs = graph.shape(x)
        guard xs.count == 4 else { throw ImportMessage("only images (NCHW) can be resized, input is \(xs)") }
        let legacy = n.opType == "Upsample" || opset < 11
        var scales: [Float]? = nil, sizes: [Int]? = nil
        func constInput(_ i: Int) throws -> ConstTensor? {
            guard i < inNames.count, !inNames[i].isEmpty else { return nil }
            guard let c = ins[i] else { throw ImportMessage("input \(i) of \(n.opType) must be a constant") }
            return c.count == 0 ? nil : c
        }
        if n.opType == "Upsample" && opset < 9 {
            scales = try attrFloats(n, "scales")
        } else if legacy {
            scales = try constInput(1)?.floats
        } else {
            scales = try constInput(2)?.floats
            sizes = try constInput(3)?.ints.map { Int($0) }
        }
        let axesAttr = n.attributes["axes"] == nil ? nil : try attrInts(n, "axes", nil).map { try normAxis($0, 4) }
        if let axes = axesAttr {
            // opset 18: scales/sizes only for `axes`.
            func expand<T>(_ v: [T]?, _ one: T, _ keep: (Int) -> T) throws -> [T]? {
                guard let v else { return nil }
                guard v.count == axes.count else { throw ImportMessage("\(v.count) values for axes \(axes)") }
                var full = (0..<4).map(keep)
                for (k, a) in axes.enumerated() { full[a] = v[k] }
                return full
            }
            scales = try expand(scales, Float(1)) { (_: Int) -> Float in 1 }
            sizes = try expand(sizes, 0) { (a: Int) -> Int in xs[a] }
        }
        if try attrString(n, "keep_aspect_ratio_policy", "stretch") != "stretch" { throw ImportMessage("keep_aspect_ratio_policy other than stretch is not supported") }
        if try attrInt(n, "antialias", 0) != 0 { throw ImportMessage("antialiased resizing is not supported") }
        var out: [Int], ratio: [Float]
        if let sizes {
            guard sizes.count == 4, sizes[1] == xs[1], sizes.allSatisfy({ $0 > 0 && $0 < 1 << 16 }) else {
                throw ImportMessage("sizes \(sizes) must keep N and C of \(xs) and be positive")
            }
            out = [sizes[2], sizes[3]]
            ratio = [Float(out[0]) / Float(xs[2]), Float(out[1]) / Float(xs[3])]
        } else if let scales {
            guard scales.count == 4, scales[0] == 1, scales[1] == 1, scales.allSatisfy({ $0 > 0 && $0 < 4096 }) else {
                throw ImportMessage("scales \(scales) must be 1 for N and C and positive for H and W")
            }
            ratio = [scales[2], scales[3]]
            out = [Int((Float(xs[2]) * ratio[0]).rounded(.down)), Int((Float(xs[3]) * ratio[1]).rounded(.down))]
        } else {
            throw ImportMessage("neither scales nor sizes is given")
        }
        let modeName = try attrString(n, "mode", "nearest")
        let mode: Resize.Mode
        switch modeName {
        case "nearest": mode = .nearest
        case "linear", "bilinear": mode = .linear
        default: throw ImportMessage("mode '\(modeName)' is not supported (nearest and linear are)")
        }
        if legacy {
            // Opset < 11 semantics (as onnxruntime runs them): asymmetric coordinates, nearest
            // truncates when upsampling and rounds up when downsampling.
            let down = ratio.contains { $0 < 1 }
            return .resize(Resize(mode: mode, coordinates: .asymmetric, rounding: down ? .ceil : .floor, sizes: out, scales: ratio))
        }
        let coordName = try attrString(n, "coordinate_transformation_mode", "half_pixel")
        let coords: Resize.Coordinates
        switch coordName {
        case "asymmetric": coords = .asymmetric
        case "half_pixel": coords = .halfPixel
        case "pytorch_half_pixel": coords = .pytorchHalfPixel
        case "align_corners": coords = .alignCorners
        case "tf_half_pixel_for_nearest": coords = .tfHalfPixelForNearest
        default: throw ImportMessage("coordinate_transformation_mode '\(coordName)' is not supported")
        }
        let roundName = try attrString(n, "nearest_mode", "round_prefer_floor")
        let rounding: Resize.Rounding
        switch roundName {
        case "round_prefer_floor": rounding = .roundPreferFloor
        case "round_prefer_ceil": rounding = .roundPreferCeil
        case "floor": rounding = .floor
        case "ceil": rounding = .ceil
        default: throw ImportMessage("nearest_mode '\(roundName)' is not supported")
        }
        return .resize(Resize(mode: mode, coordinates: coords, rounding: rounding, sizes: out, scales: ratio))
    }

    func lowerConvTranspose(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String) throws -> Op {
        let xs = graph.shape(x)
        guard inNames.count >= 2, let w = ins[1] else { throw ImportMessage("the weight input must be a constant") }
        guard w.shape.count == 4, xs.count == 4 else { throw ImportMessage("only 2-D transposed convolutions are supported (input \(xs), weight \(w.shape))") }
        let k = try attrInts(n, "kernel_shape", w.shape.suffix(2).map { Int64($0) }).map { Int($0) }
        guard k == Array(w.shape.suffix(2)) else { throw ImportMessage("kernel_shape \(k) does not match the weight shape \(w.shape)") }
        let strides = try positive(attrInts(n, "strides", [1, 1]), "strides")
        let dil = try positive(attrInts(n, "dilations", [1, 1]), "dilations")
        let group = Int(try attrInt(n, "group", 1))
        guard group >= 1 else { throw ImportMessage("group \(group) must be at least 1") }
        var outPad = try attrInts(n, "output_padding", [0, 0]).map { Int($0) }
        guard outPad.count == 2, outPad.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw ImportMessage("output_padding \(outPad) must be two non-negative values") }
        var pads = try attrInts(n, "pads", [0, 0, 0, 0]).map { Int($0) }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 < 1 << 16 }) else { throw ImportMessage("pads \(pads) must be four non-negative values") }
        let auto = try attrString(n, "auto_pad", "NOTSET")
        let outputShape = n.attributes["output_shape"] == nil ? nil : try attrInts(n, "output_shape", nil).map { Int($0) }
        if auto != "NOTSET" || outputShape != nil {
            // The wanted output size decides the total padding; an odd pixel is cropped at the
            // start for SAME_UPPER and at the end otherwise (the ONNX definition, as onnxruntime runs it).
            let want = outputShape.map { Array($0.suffix(2)) } ?? [xs[2] * strides[0], xs[3] * strides[1]]
            guard want.count == 2 else { throw ImportMessage("output_shape \(outputShape ?? []) must give H and W") }
            if auto == "VALID" { pads = [0, 0, 0, 0] } else {
                for a in 0..<2 {
                    let full = (xs[2 + a] - 1) * strides[a] + (k[a] - 1) * dil[a] + 1 + outPad[a]
                    let total = full - want[a]
                    if total < 0 { outPad[a] -= total; pads[a] = 0; pads[a + 2] = 0; continue }
                    let head = auto == "SAME_UPPER" ? total - total / 2 : total / 2
                    pads[a] = head
                    pads[a + 2] = total - head
                }
            }
        }
        return .convTranspose(ConvTranspose2D(kernelShape: k, strides: strides, dilations: dil, pads: pads, outputPadding: outPad, group: group))
    }

    /// Slice of an activation (opset 1 attributes, opset 10+ constant inputs), positive steps.
    func lowerSlice(_ n: OnnxNode, inNames: [String], ins: [ConstTensor?], x: String) throws -> Op {
        let xs = graph.shape(x)
        func input(_ i: Int) throws -> [Int64]? {
            guard i < inNames.count, !inNames[i].isEmpty else { return nil }
            guard let c = ins[i] else { throw ImportMessage("input \(i) of Slice must be a constant") }
            return c.ints
        }
        let starts: [Int64], ends: [Int64], axesIn: [Int64]?, stepsIn: [Int64]?
        if opset < 10 {
            starts = try attrInts(n, "starts", nil)
            ends = try attrInts(n, "ends", nil)
            axesIn = n.attributes["axes"] == nil ? nil : try attrInts(n, "axes", nil)
            stepsIn = nil
        } else {
            guard let s = try input(1), let e = try input(2) else { throw ImportMessage("starts and ends must be given") }
            (starts, ends, axesIn, stepsIn) = (s, e, try input(3), try input(4))
        }
        let axes = try (axesIn ?? (0..<Int64(starts.count)).map { $0 }).map { try normAxis($0, xs.count) }
        let steps = stepsIn ?? [Int64](repeating: 1, count: starts.count)
        guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count, Set(axes).count == axes.count else {
            throw ImportMessage("starts \(starts), ends \(ends), axes \(axes) and steps \(steps) do not match")
        }
        var lo = [Int](repeating: 0, count: xs.count), hi = xs, st = [Int](repeating: 1, count: xs.count)
        for (k, a) in axes.enumerated() {
            guard steps[k] >= 1, steps[k] < 1 << 31 else { throw ImportMessage("step \(steps[k]) is not supported (only positive steps)") }
            func clamp(_ v: Int64) -> Int {
                let d = Int64(xs[a])
                let w = v < 0 ? v + d : v
                return Int(min(max(w, 0), d))
            }
            (lo[a], hi[a], st[a]) = (clamp(starts[k]), clamp(ends[k]), Int(steps[k]))
            guard lo[a] < hi[a] else { throw ImportMessage("slice of axis \(a) is empty (\(starts[k])..<\(ends[k]) of \(xs[a]))") }
        }
        return .slice(starts: lo, ends: hi, steps: st)
    }

    func attrFloats(_ n: OnnxNode, _ key: String) throws -> [Float] {
        switch n.attributes[key] {
        case .floats(let v)?: return v
        case nil: throw ImportMessage("required attribute '\(key)' is missing")
        default: throw ImportMessage("attribute '\(key)' should be a list of floats")
        }
    }
}
