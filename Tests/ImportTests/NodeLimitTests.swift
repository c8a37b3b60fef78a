import Graph
@testable import Import
import Testing

/// A graph with more nodes than tinympq handles is refused at import with the count and the limit.
@Suite struct NodeLimitTests {
    @Test func aGraphOverTheNodeLimitIsRefused() throws {
        var g = Graph(name: "g", inputs: ["x"], outputs: [])
        g.shapes["x"] = [1, 4, 8, 8]
        var previous = "x"
        for i in 0...ImportChecks.maxNodes {
            try g.append(Node(name: "add\(i)", op: .add, inputs: [previous, previous], output: "t\(i)"))
            previous = "t\(i)"
        }
        g.outputs = [previous]
        #expect {
            try ImportChecks.check(g, file: "long.onnx")
        } throws: { e in
            let s = "\(e)"
            return s.contains("\(ImportChecks.maxNodes + 1) nodes") && s.contains("long.onnx")
        }
    }
}
