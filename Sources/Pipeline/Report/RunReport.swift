import Kernels
import Foundation

/// `report.json`: the stable contract CI reads (documented in the README).
public struct RunReport: Codable, Sendable {
    public struct StageStatus: Codable, Sendable {
        public var status: String
        public var cached: Bool
        public var seconds: Double
        public var log: String
    }

    public var schema = 1
    public var tool = ToolInfo.version
    public var model: String
    public var file: String
    public var stages: [String: StageStatus] = [:]
    public var graph: GraphSummary.Totals?
    public var budget: BudgetReport?
    public var footprint: FootprintReport?
    public var search: SearchReport?
    public var policy: PolicyReport?
    public var quantize: QuantizeSummary?
    public var validation: ValidationReport?
    public var codegen: CodegenReport?
    public var error: String?

    public struct QuantizeSummary: Codable, Sendable {
        public var parameterBytes: Int
        public var layers: Int
    }

    public init(model: String, file: String) {
        self.model = model
        self.file = file
    }

    /// Takes every field `other` sets (a stage's part of the report).
    mutating func merge(_ other: RunReport) {
        graph = other.graph ?? graph
        budget = other.budget ?? budget
        footprint = other.footprint ?? footprint
        search = other.search ?? search
        policy = other.policy ?? policy
        quantize = other.quantize ?? quantize
        validation = other.validation ?? validation
        codegen = other.codegen ?? codegen
    }

    func markdown(sections: [String]) -> String {
        var s = "# tinympq report: \(model)\n\n"
        if let error { s += "**FAILED**: \(error)\n\n" }
        let order = ["parse", "search", "quantize", "validate", "codegen"]
        let rows = order.compactMap { st in
            stages[st].map { [st, $0.status, $0.cached ? "yes" : "no", String(format: "%.3f", $0.seconds), "[\($0.log)](\($0.log))"] }
        }
        s += "## Stages\n\n" + Markdown.table(["stage", "status", "cached", "seconds", "log"], rows, rightAligned: [3]) + "\n"
        s += sections.joined(separator: "\n")
        return s
    }
}

