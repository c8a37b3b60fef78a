import Foundation
import Graph

/// An import failure, naming the file and, when known, the node and op.
public struct ImportError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var node: String?
    public var op: String?
    public var message: String

    public init(file: String, node: String? = nil, op: String? = nil, _ message: String) {
        self.file = file
        self.node = node
        self.op = op
        self.message = message
    }

    public var description: String {
        if let node { return "\(file): node '\(node)' (\(op ?? "?")): \(message)" }
        return "\(file): \(message)"
    }
}

/// Reads an ONNX model file into the IR.
public enum OnnxImporter {
    /// - Parameters:
    ///   - inputShape: the input's full shape (the budget's `inputShape`): overrides the model's.
    ///   - dataShape: the shape of the data the model will run on: fixes dimensions the model
    ///     leaves free (`[-1, 3, ?, ?]`), and nothing else.
    public static func load(_ url: URL, inputShape: [Int]? = nil, dataShape: [Int]? = nil) throws -> Graph {
        try load(bytes: try ModelFile.read(url), file: url.lastPathComponent, directory: url.deletingLastPathComponent(),
                 inputShape: inputShape, dataShape: dataShape)
    }

    public static func load(bytes: [UInt8], file: String, directory: URL, inputShape: [Int]? = nil, dataShape: [Int]? = nil) throws -> Graph {
        let model: OnnxModel
        do {
            model = try OnnxModel(decoding: ProtoReader(bytes: bytes))
        } catch let e as ProtoError {
            throw ImportError(file: file, "not a valid ONNX protobuf: \(e)")
        }
        guard !model.graph.nodes.isEmpty else { throw ImportError(file: file, "the model has no graph nodes (is this an ONNX file?)") }
        let opset = model.opsets[""] ?? model.opsets["ai.onnx"] ?? 0
        guard opset >= 1 else { throw ImportError(file: file, "the model imports no default ONNX opset") }
        var lowering = OnnxLowering(bytes: bytes, file: file, directory: directory, opset: opset)
        return try lowering.lower(model.graph, inputShape: inputShape, dataShape: dataShape)
    }
}

/// Turns the ONNX node list into IR nodes: constants are folded as they appear, shapes are
/// inferred node by node, Identity and Dropout become aliases, BatchNormalization is folded
/// into the convolution before it at the end.
struct OnnxLowering {
    let bytes: [UInt8]
    let file: String
    let directory: URL
    let opset: Int
    var graph = Graph(name: "", inputs: [], outputs: [])
    var consts: [String: ConstTensor] = [:]
    var alias: [String: String] = [:]
    /// Outputs nothing may read (Dropout masks, MaxPool indices), with the reason.
    var unavailable: [String: String] = [:]

    init(bytes: [UInt8], file: String, directory: URL, opset: Int) {
        self.bytes = bytes
        self.file = file
        self.directory = directory
        self.opset = opset
    }

    mutating func lower(_ g: OnnxGraph, inputShape: [Int]?, dataShape: [Int]? = nil) throws -> Graph {
        graph.name = g.name.isEmpty ? (file as NSString).deletingPathExtension : g.name
        for t in g.initializers {
            do { consts[t.name] = try t.decode(bytes: bytes, modelDirectory: directory) } catch let e as ImportMessage {
                throw ImportError(file: file, "initializer '\(t.name)': \(e.description)")
            }
        }
        let realInputs = g.inputs.filter { consts[$0.name] == nil }
        guard realInputs.count == 1, let input = realInputs.first else {
            throw ImportError(file: file, "tinympq needs exactly one model input, this model has \(realInputs.count): \(realInputs.map(\.name))")
        }
        guard input.elemType == 1 else { throw ImportError(file: file, "input '\(input.name)' has element type \(input.elemType); only float32 inputs are supported") }
        graph.inputs = [input.name]
        graph.shapes[input.name] = try resolveInputShape(input, override: inputShape, data: dataShape)

        for (i, n) in g.nodes.enumerated() {
            let name = n.name.isEmpty ? "\(n.opType)_\(i)" : n.name
            do {
                try lowerNode(n, name: name)
            } catch let e as ImportMessage {
                throw ImportError(file: file, node: name, op: n.opType, e.description)
            } catch let e as GraphError {
                throw ImportError(file: file, node: e.node, op: e.op, e.message)
            }
        }
        graph.outputs = try g.outputs.map { o in
            let r = resolve(o.name)
            guard graph.nodes.contains(where: { $0.output == r }) else {
                throw ImportError(file: file, "graph output '\(o.name)' is a constant, the input, or never computed")
            }
            return r
        }
        // Keep the model's own output names where Identity nodes were removed in between.
        for (o, declared) in zip(graph.outputs, g.outputs.map(\.name)) where o != declared && graph.shapes[declared] == nil {
            if graph.outputs.filter({ $0 == o }).count == 1 { graph.renameTensor(o, to: declared) }
        }
        graph.simplify()
        return graph
    }

    func resolveInputShape(_ input: OnnxValueInfo, override: [Int]?, data: [Int]?) throws -> [Int] {
        guard let dims = input.dims else {
            if let override { return [1] + override.dropFirst() }
            if let data, data.count >= 2 { return [1] + data.dropFirst() }
            throw ImportError(file: file, "input '\(input.name)' has no shape; give data (its x fixes the shape) or set inputShape in the budget")
        }
        // Data of the input's rank fixes the free dimensions (a mismatch in a fixed one is left
        // to the data check, which names the data file).
        let data = data.flatMap { $0.count == dims.count && $0.allSatisfy({ $0 > 0 }) ? $0 : nil }
        if let override {
            guard override.count == dims.count else {
                throw ImportError(file: file, "inputShape \(override) has rank \(override.count), input '\(input.name)' has rank \(dims.count)")
            }
            for (i, d) in dims.enumerated() {
                if case .value(let v) = d, v > 0, i > 0, Int(v) != override[i] {
                    throw ImportError(file: file, "inputShape \(override) contradicts input '\(input.name)' dimension \(i) = \(v)")
                }
            }
        }
        var shape: [Int] = []
        for (i, d) in dims.enumerated() {
            switch d {
            case .value(let v) where v > 0:
                shape.append(i == 0 ? 1 : Int(v))
            case .value(let v) where v < -1:
                throw ImportError(file: file, "input '\(input.name)' has a negative dimension \(v) at axis \(i)")
            default:  // free: a name, no value, or -1 as Paddle writes it
                if i == 0 { shape.append(1); continue }  // a free batch dimension runs one image at a time
                if let override, override[i] > 0 {
                    shape.append(override[i])
                } else if let data {
                    shape.append(data[i])
                } else {
                    let label = if case .param(let p) = d { "'\(p)'" } else { "(unnamed)" }
                    throw ImportError(file: file, "input '\(input.name)' has a free dimension \(label) at axis \(i); give data (the shape of its x fixes it) or set inputShape in the budget")
                }
            }
        }
        if let override { shape = [1] + override.dropFirst() }
        guard let n = checkedCount(shape), n > 0, n <= 1 << 28 else {
            throw ImportError(file: file, "input '\(input.name)' has an absurd shape \(shape)")
        }
        return shape
    }

    func resolve(_ name: String) -> String {
        var n = name
        while let a = alias[n] { n = a }
        return n
    }

    mutating func lowerNode(_ n: OnnxNode, name: String) throws {
        guard n.domain.isEmpty || n.domain == "ai.onnx" else {
            throw ImportMessage("op '\(n.opType)' from domain '\(n.domain)' is not supported")
        }
        let inNames = n.inputs.map { $0.isEmpty ? "" : resolve($0) }
        for (i, t) in inNames.enumerated() where !t.isEmpty && consts[t] == nil && graph.shapes[t] == nil {
            if let why = unavailable[t] { throw ImportMessage("input \(i) '\(t)' \(why)") }
            throw ImportMessage("input \(i) '\(n.inputs[i])' is not produced by any earlier node (nodes must be in topological order)")
        }
        guard let out = n.outputs.first, !out.isEmpty else { throw ImportMessage("node has no output") }
        let ins: [ConstTensor?] = inNames.map { $0.isEmpty ? nil : consts[$0] }
        let activations = inNames.filter { !$0.isEmpty && consts[$0] == nil }

        // Constant sub-graphs fold away.
        if n.opType == "Shape", let x = activations.first ?? inNames.first {
            var dims = (consts[x]?.shape ?? graph.shape(x)).map { Int64($0) }
            let r = dims.count
            let start = try normAxisClamped(try attrInt(n, "start", 0), r)
            let end = try normAxisClamped(try attrInt(n, "end", Int64(r)), r)
            dims = start < end ? Array(dims[start..<end]) : []
            consts[out] = ConstTensor(shape: [dims.count], values: .int(dims))
            return
        }
        if activations.isEmpty, Self.foldable.contains(n.opType), let c = try fold(n, ins) {
            consts[out] = c
            return
        }
        let castToFloat = n.opType == "Cast" ? try attrInt(n, "to", 0) == 1 : false
        if ["Identity", "Dropout"].contains(n.opType) || castToFloat {
            if n.outputs.count > 1 && !n.outputs[1].isEmpty {
                unavailable[n.outputs[1]] = "is the training mask of Dropout '\(name)', which tinympq does not compute"
            }
            alias[out] = inNames[0]
            return
        }
        guard let x = activations.first else {
            throw ImportMessage("op '\(n.opType)' on constant inputs only is not supported")
        }
        let op = try lowerOp(n, inNames: inNames, ins: ins, x: x)
        var inputs = [x]
        switch op {
        case .conv, .fullyConnected, .batchNorm, .convTranspose:
            inputs = try weightInputs(n, op: op, inNames: inNames, ins: ins, x: x, name: name)
        case .prelu:
            inputs = [x, try preluSlope(n, inNames: inNames, ins: ins, x: x, name: name)]
        case .add, .sub, .mul, .div:
            inputs = try inNames.prefix(2).map { t in
                if let c = consts[t] { return registerConstant(t, c) }
                return t
            }
        case .concat:
            inputs = try inNames.map { t in
                if let c = consts[t] { return registerConstant(t, c) }
                return t
            }
        default: break
        }
        if case .softmax(let axis) = op, opset < 13, axis != graph.shape(x).count - 1 {
            // Opset < 13 Softmax flattens to 2-D at `axis`: a reshape around a last-axis softmax.
            let shape = graph.shape(x)
            let flat = [shape.prefix(axis).reduce(1, *), shape.dropFirst(axis).reduce(1, *)]
            try graph.append(Node(name: name + "#flatten", op: .reshape(shape: flat), inputs: [x], output: out + "#flat"))
            try graph.append(Node(name: name, op: .softmax(axis: 1), inputs: [out + "#flat"], output: out + "#soft"))
            try graph.append(Node(name: name + "#unflatten", op: .reshape(shape: shape), inputs: [out + "#soft"], output: out))
            return
        }
        for extra in n.outputs.dropFirst() where !extra.isEmpty {
            unavailable[extra] = "is a secondary output of \(n.opType) '\(name)', which tinympq does not compute"
        }
        try graph.append(Node(name: name, op: op, inputs: inputs, output: out))
    }

    /// Registers an import constant as a graph constant (weights are float in the IR).
    @discardableResult
    mutating func registerConstant(_ name: String, _ c: ConstTensor) -> String {
        if graph.constants[name] == nil {
            graph.constants[name] = Tensor(shape: c.shape, data: c.floats)
            graph.shapes[name] = c.shape
        }
        return name
    }

    mutating func addConstant(_ name: String, shape: [Int], data: [Float]) -> String {
        graph.constants[name] = Tensor(shape: shape, data: data)
        graph.shapes[name] = shape
        return name
    }
}

func normAxisClamped(_ a: Int64, _ rank: Int) throws -> Int {
    let v = a < 0 ? Int(a) + rank : Int(a)
    return min(max(v, 0), rank)
}
