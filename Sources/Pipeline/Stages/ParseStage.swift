import Foundation
import Graph
import Import

/// Stage 1: the model file → the IR, and `graph.json` describing it.
public enum ParseStage {
    public static let name = "parse"
    public static let number = 1
    /// Bump when what parse produces for the same file changes.
    public static let implVersion = 3

    public static func run(model: URL, inputShape: [Int]?, dataShape: [Int]? = nil, log: StageLog) throws -> (Graph, GraphSummary) {
        log.line("parsing \(model.lastPathComponent)" + (inputShape.map { " with inputShape \($0)" } ?? "")
                 + (dataShape.map { "; data of shape \($0) fixes free input dimensions" } ?? ""))
        let graph = try ModelFile.load(model, inputShape: inputShape, dataShape: dataShape)
        let summary = GraphSummary(graph, file: model.lastPathComponent)
        log.line("\(summary.nodes.count) nodes, \(summary.totals.params) parameters, \(summary.totals.macs) MACs, input \(summary.input.shape) (\(summary.layout.rawValue.uppercased()))")
        log.line("largest 8-bit activation: \(summary.totals.largestActivationBytes8) bytes; peak in+out of one op: \(summary.totals.peakInOutBytes8) bytes")
        return (graph, summary)
    }
}

/// `graph.json`: what the parser understood, per node and in total.
public struct GraphSummary: Codable, Sendable, Equatable {
    public struct TensorRef: Codable, Sendable, Equatable {
        public var name: String
        public var shape: [Int]
    }

    public struct NodeEntry: Codable, Sendable, Equatable {
        public var name: String
        public var op: String
        public var inputShapes: [[Int]]
        public var outputShape: [Int]
        public var params: Int
        public var macs: Int
        /// Output activation bytes at 8 bits per element.
        public var activationBytes8: Int
    }

    public struct Totals: Codable, Sendable, Equatable {
        public var nodes: Int
        public var params: Int
        public var macs: Int
        public var largestActivationBytes8: Int
        /// max over ops of (inputs + output) bytes at 8 bits: the paper's RAM rule for chains.
        public var peakInOutBytes8: Int
    }

    public var model: String
    public var file: String
    /// The input as data files give it (`layout`: nchw for ONNX, nhwc for TFLite).
    public var input: TensorRef
    public var layout: DataLayout
    public var outputs: [TensorRef]
    public var totals: Totals
    public var nodes: [NodeEntry]

    public init(_ g: Graph, file: String) {
        let stats = g.stats()
        model = g.name
        self.file = file
        input = TensorRef(name: g.inputs.first ?? "", shape: g.externalShape(g.inputs.first ?? ""))
        layout = g.layout
        outputs = g.outputs.map { TensorRef(name: $0, shape: g.externalShape($0)) }
        nodes = stats.map {
            NodeEntry(name: $0.name, op: $0.op, inputShapes: $0.inputShapes, outputShape: $0.outputShape,
                      params: $0.params, macs: $0.macs, activationBytes8: $0.outputElements)
        }
        let peak = stats.map { s in s.inputShapes.reduce(0) { $0 + $1.reduce(1, *) } + s.outputElements }.max() ?? 0
        totals = Totals(nodes: stats.count, params: stats.reduce(0) { $0 + $1.params }, macs: stats.reduce(0) { $0 + $1.macs },
                        largestActivationBytes8: stats.map(\.outputElements).max() ?? 0, peakInOutBytes8: peak)
    }
}
