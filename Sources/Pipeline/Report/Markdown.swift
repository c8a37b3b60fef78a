/// Small helpers for the human reports.
enum Markdown {
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        var s = "| " + header.joined(separator: " | ") + " |\n|"
        for i in header.indices { s += rightAligned.contains(i) ? " ---: |" : " --- |" }
        s += "\n"
        for r in rows { s += "| " + r.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        return s
    }

    /// 1234567 → "1,234,567".
    static func int(_ v: Int) -> String {
        let digits = String(abs(v))
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (v < 0 ? "-" : "") + String(out.reversed())
    }

    static func shape(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }
}

extension GraphSummary {
    /// The "Model" section of report.md.
    public var markdown: String {
        var s = "## Model\n\n"
        s += "- file: `\(file)`; input `\(input.name)` \(Markdown.shape(input.shape)) (\(layout.rawValue.uppercased())); outputs "
        s += outputs.map { "`\($0.name)` \(Markdown.shape($0.shape))" }.joined(separator: ", ") + "\n"
        s += "- \(totals.nodes) ops, \(Markdown.int(totals.params)) parameters, \(Markdown.int(totals.macs)) MACs per inference\n"
        s += "- at 8 bits: largest activation \(Markdown.int(totals.largestActivationBytes8)) B; "
        s += "peak inputs + output of one op \(Markdown.int(totals.peakInOutBytes8)) B\n\n"
        let rows = nodes.enumerated().map { i, n in
            [String(i), "`\(n.name)`", n.op, n.inputShapes.map(Markdown.shape).joined(separator: ", "), Markdown.shape(n.outputShape),
             Markdown.int(n.params), Markdown.int(n.macs), Markdown.int(n.activationBytes8)]
        }
        s += Markdown.table(["#", "node", "op", "input", "output", "params", "MACs", "out bytes @8b"], rows, rightAligned: [0, 5, 6, 7])
        return s
    }
}
