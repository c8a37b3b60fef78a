/// A problem with the model's structure, naming the node and op it was found at.
public struct GraphError: Error, CustomStringConvertible, Sendable {
    public var node: String
    public var op: String
    public var message: String

    public init(node: String, op: String, _ message: String) {
        self.node = node
        self.op = op
        self.message = message
    }

    public var description: String { "node '\(node)' (\(op)): \(message)" }
}
