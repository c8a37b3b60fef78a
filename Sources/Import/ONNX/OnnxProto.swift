/// The parts of `onnx.proto` tinympq reads, decoded from the wire format. Field numbers are the
/// official ones (onnx/onnx.proto); fields we do not need are skipped.

struct OnnxModel {
    var irVersion: Int64 = 0
    /// domain ("" = the default ONNX domain) → opset version
    var opsets: [String: Int] = [:]
    var producer = ""
    var graph = OnnxGraph()
}

struct OnnxGraph {
    var name = ""
    var nodes: [OnnxNode] = []
    var initializers: [OnnxTensor] = []
    var inputs: [OnnxValueInfo] = []
    var outputs: [OnnxValueInfo] = []
}

struct OnnxNode {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [String: OnnxAttribute] = [:]
}

enum OnnxAttribute {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(OnnxTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
    /// Graph, sparse tensor and type attributes: recognised, not supported.
    case other(type: Int64)
}

struct OnnxValueInfo {
    enum Dim: Equatable { case value(Int64), param(String), unknown }
    var name = ""
    var elemType: Int64 = 0
    var dims: [Dim]? = nil
}

/// A TensorProto with its payload still in the file: decoded on demand (`OnnxTensor+Data`).
struct OnnxTensor {
    var name = ""
    var dims: [Int64] = []
    var dataType: Int64 = 0
    var raw: Range<Int>? = nil
    var floatData: [Float] = []
    var int32Data: [Int64] = []
    var int64Data: [Int64] = []
    var doubleData: [Double] = []
    var uint64Data: [Int64] = []
    var external: [String: String] = [:]
    var dataLocation: Int64 = 0
    var hasStrings = false
}

extension OnnxModel {
    init(decoding r: ProtoReader) throws {
        try r.forEachField { f in
            switch f.number {
            case 1: irVersion = try r.int(f)
            case 2: producer = try r.string(f)
            case 7: graph = try OnnxGraph(decoding: r.message(f))
            case 8:
                var domain = "", version: Int64 = 0
                let m = try r.message(f)
                try m.forEachField { g in
                    if g.number == 1 { domain = try m.string(g) }
                    if g.number == 2 { version = try m.int(g) }
                }
                opsets[domain] = Int(clamping: version)
            default: break
            }
        }
    }
}

extension OnnxGraph {
    init(decoding r: ProtoReader) throws {
        try r.forEachField { f in
            switch f.number {
            case 1: nodes.append(try OnnxNode(decoding: r.message(f)))
            case 2: name = try r.string(f)
            case 5: initializers.append(try OnnxTensor(decoding: r.message(f)))
            case 11: inputs.append(try OnnxValueInfo(decoding: r.message(f)))
            case 12: outputs.append(try OnnxValueInfo(decoding: r.message(f)))
            case 15: throw ProtoError(offset: f.payload.lowerBound, "sparse initializers are not supported")
            default: break
            }
        }
    }
}

extension OnnxNode {
    init(decoding r: ProtoReader) throws {
        try r.forEachField { f in
            switch f.number {
            case 1: inputs.append(try r.string(f))
            case 2: outputs.append(try r.string(f))
            case 3: name = try r.string(f)
            case 4: opType = try r.string(f)
            case 7: domain = try r.string(f)
            case 5:
                let (n, a) = try OnnxAttribute.decode(r.message(f))
                attributes[n] = a
            default: break
            }
        }
    }
}

extension OnnxAttribute {
    static func decode(_ r: ProtoReader) throws -> (String, OnnxAttribute) {
        var name = "", type: Int64 = 0
        var f32: Float = 0, i64: Int64 = 0, s = "", t: OnnxTensor? = nil
        var floats: [Float] = [], ints: [Int64] = [], strings: [String] = []
        try r.forEachField { f in
            switch f.number {
            case 1: name = try r.string(f)
            case 20: type = try r.int(f)
            case 2: f32 = try r.float(f)
            case 3: i64 = try r.int(f)
            case 4: s = try r.string(f)
            case 5: t = try OnnxTensor(decoding: r.message(f))
            case 7: try r.floats(f, into: &floats)
            case 8: try r.ints(f, into: &ints)
            case 9: strings.append(try r.string(f))
            default: break
            }
        }
        switch type {
        case 1: return (name, .float(f32))
        case 2: return (name, .int(i64))
        case 3: return (name, .string(s))
        case 4:
            guard let t else { throw ProtoError(offset: r.range.lowerBound, "attribute '\(name)' has no tensor") }
            return (name, .tensor(t))
        case 6: return (name, .floats(floats))
        case 7: return (name, .ints(ints))
        case 8: return (name, .strings(strings))
        default: return (name, .other(type: type))
        }
    }
}

extension OnnxValueInfo {
    init(decoding r: ProtoReader) throws {
        try r.forEachField { f in
            switch f.number {
            case 1: name = try r.string(f)
            case 2:
                let tp = try r.message(f)
                try tp.forEachField { g in
                    guard g.number == 1 else { return }  // tensor_type
                    let tt = try tp.message(g)
                    try tt.forEachField { h in
                        if h.number == 1 { elemType = try tt.int(h) }
                        if h.number == 2 {
                            var dims: [Dim] = []
                            let sh = try tt.message(h)
                            try sh.forEachField { d in
                                guard d.number == 1 else { return }
                                var dim = Dim.unknown
                                let dm = try sh.message(d)
                                try dm.forEachField { v in
                                    if v.number == 1 { dim = .value(try dm.int(v)) }
                                    if v.number == 2 { dim = .param(try dm.string(v)) }
                                }
                                dims.append(dim)
                            }
                            self.dims = dims
                        }
                    }
                }
            default: break
            }
        }
    }
}

extension OnnxTensor {
    init(decoding r: ProtoReader) throws {
        try r.forEachField { f in
            switch f.number {
            case 1: try r.ints(f, into: &dims)
            case 2: dataType = try r.int(f)
            case 4: try r.floats(f, into: &floatData)
            case 5: try r.ints(f, into: &int32Data)
            case 6: hasStrings = true
            case 7: try r.ints(f, into: &int64Data)
            case 8: name = try r.string(f)
            case 9:
                guard f.wire == .lengthDelimited else { throw ProtoError(offset: f.payload.lowerBound, "raw_data should be bytes") }
                raw = f.payload
            case 10: try r.doubles(f, into: &doubleData)
            case 11: try r.ints(f, into: &uint64Data)
            case 13:
                var k = "", v = ""
                let m = try r.message(f)
                try m.forEachField { g in
                    if g.number == 1 { k = try m.string(g) }
                    if g.number == 2 { v = try m.string(g) }
                }
                external[k] = v
            case 14: dataLocation = try r.int(f)
            default: break
            }
        }
    }
}
