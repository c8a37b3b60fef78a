/// One op application: named after the source model's node so errors and reports can point at it.
public struct Node: Sendable, Hashable {
    public var name: String
    public var op: Op
    public var inputs: [String]
    public var output: String

    public init(name: String, op: Op, inputs: [String], output: String) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
    }
}
