import Foundation

/// `report.html`: one self-contained page (no scripts, no external files) with inline SVG
/// charts: bits per layer, memory per layer against the budget, the search comparison and
/// curve, per-layer SQNR.
enum HTMLReport {
    static func render(_ r: RunReport) -> String {
        var body = "<h1>tinympq report: \(esc(r.model))</h1>\n"
        if let e = r.error { body += "<p class=bad><b>FAILED:</b> \(esc(e))</p>\n" }
        body += "<h2>Stages</h2><table><tr><th>stage</th><th>status</th><th>cached</th><th>seconds</th><th>log</th></tr>"
        for s in ["parse", "search", "quantize", "validate", "codegen"] {
            guard let st = r.stages[s] else { continue }
            body += "<tr><td>\(s)</td><td class=\(st.status == "ok" ? "ok" : "bad")>\(st.status)</td><td>\(st.cached ? "yes" : "no")</td>"
            body += String(format: "<td>%.3f</td>", st.seconds) + "<td><a href=\"\(esc(st.log))\">\(esc(st.log))</a></td></tr>"
        }
        body += "</table>\n"
        if let g = r.graph {
            body += "<h2>Model</h2><p>\(g.nodes) ops, \(Markdown.int(g.params)) parameters, \(Markdown.int(g.macs)) MACs</p>\n"
        }
        if let b = r.budget, let f = r.footprint {
            body += "<h2>Memory</h2>"
            body += String(format: "<p>FLASH %@ B of %@ B (%.1f%%); RAM arena %@ B of %@ B (%.1f%%); lower bound %@ B; peak at <code>%@</code></p>",
                            Markdown.int(f.flashBytes), Markdown.int(b.flashBytes), 100 * (f.utilisation["flash"] ?? 0), Markdown.int(f.arenaBytes),
                            Markdown.int(b.ramBytes), 100 * (f.utilisation["ram"] ?? 0), Markdown.int(f.arenaLowerBound), esc(f.peakOp))
            body += bars(title: "Budget use", labels: ["FLASH", "RAM"], values: [Double(f.flashBytes), Double(f.arenaBytes)],
                         limits: [Double(b.flashBytes), Double(b.ramBytes)], unit: "B")
        }
        if let p = r.policy {
            body += "<h2>Bits per layer</h2>"
            let layers = p.layers
            body += grouped(labels: layers.map(\.layer), series: [("weights", "#4477aa", layers.map { Double($0.weightBits ?? 0) }),
                                                                   ("output", "#ee6677", layers.map { Double($0.outputBits) })], maxValue: 8)
            body += "<h2>Memory per layer</h2>"
            let ram = r.budget.map { Double($0.ramBytes) }
            body += grouped(labels: layers.map(\.layer), series: [("parameter bytes", "#228833", layers.map { Double($0.parameterBytes) }),
                                                                   ("output bytes", "#ccbb44", layers.map { Double($0.outputBytes) })],
                            maxValue: nil, line: ram, lineLabel: "RAM budget")
        }
        if let s = r.search {
            body += "<h2>Search</h2><p>chosen: <b>\(esc(s.method))</b>"
            if let rho = s.rankCorrelation { body += String(format: "; score vs measured KL: Spearman ρ = %.2f", rho) }
            body += "</p><table><tr><th>searcher</th><th>score</th><th>FLASH B</th><th>RAM B</th><th>fits</th><th>seconds</th></tr>"
            for row in s.comparison {
                body += String(format: "<tr><td>%@</td><td>%.5f</td><td>%@</td><td>%@</td><td>%@</td><td>%.3f</td></tr>", esc(row.method), row.score,
                                Markdown.int(row.flashBytes), Markdown.int(row.ramBytes), row.fits ? "yes" : "no", row.seconds)
            }
            body += "</table>"
            body += bars(title: "Score by searcher (lower is better)", labels: s.comparison.map(\.method), values: s.comparison.map(\.score), limits: nil, unit: "")
            if let curve = s.curve, !curve.isEmpty { body += line(title: "HAQ search curve (reward per episode, best so far)", values: curve) }
        }
        if let v = r.validation {
            body += "<h2>Validation</h2><p>"
            if v.synthetic { body += "<b>NO DATA: synthetic inputs, no accuracy claimed.</b> " }
            if let f = v.accuracyFloat, let q = v.accuracyQuantized { body += String(format: "accuracy float %.2f%%, quantized %.2f%%; ", f, q) }
            body += String(format: "top-1 agreement %.2f%%, mean KL %.5f</p>", v.top1Agreement, v.meanKL)
            let layers = r.policy?.layers.map(\.layer) ?? []
            let sq = (r.policy?.layers ?? []).map { l in v.layerSQNR.first { $0.key.hasPrefix(l.layer) || l.layer.hasPrefix($0.key) }?.value ?? 0 }
            if !layers.isEmpty { body += grouped(labels: layers, series: [("SQNR dB", "#66ccee", sq)], maxValue: nil) }
        }
        return """
        <!doctype html><html><head><meta charset="utf-8"><title>tinympq: \(esc(r.model))</title><style>
        body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}th{background:#eee}.bad{color:#b00}.ok{color:#070}
        svg{background:#fafafa;border:1px solid #ddd;margin:8px 0}text{font-size:10px}</style></head><body>
        \(body)
        </body></html>
        """
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Horizontal bars, optionally against limits.
    static func bars(title: String, labels: [String], values: [Double], limits: [Double]?, unit: String) -> String {
        let w = 700.0, rowH = 22.0, left = 110.0
        let maxV = max((values + (limits ?? [])).max() ?? 1, 1e-12)
        var s = "<svg width=\"\(Int(w))\" height=\"\(Int(rowH * Double(labels.count) + 30))\"><text x=\"4\" y=\"12\">\(esc(title))</text>"
        for (i, l) in labels.enumerated() {
            let y = 20 + rowH * Double(i)
            let bw = (w - left - 80) * values[i] / maxV
            s += "<text x=\"4\" y=\"\(y + 14)\">\(esc(l))</text><rect x=\"\(left)\" y=\"\(y + 3)\" width=\"\(bw)\" height=\"14\" fill=\"#4477aa\"/>"
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\">%@ %@</text>", left + bw + 4, y + 14, Markdown.int(Int(values[i].rounded())), unit)
            if let lim = limits?[i] {
                let x = left + (w - left - 80) * lim / maxV
                s += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(y)\" y2=\"\(y + rowH)\" stroke=\"#b00\" stroke-width=\"2\"/>"
            }
        }
        return s + "</svg>\n"
    }

    /// Vertical grouped bars per layer, with an optional horizontal limit line.
    static func grouped(labels: [String], series: [(String, String, [Double])], maxValue: Double?, line: Double? = nil, lineLabel: String = "") -> String {
        let n = max(labels.count, 1), h = 220.0, top = 20.0, bottom = 30.0
        let slot = max(8.0, min(40.0, 900.0 / Double(n)))
        let w = 60 + slot * Double(n)
        let maxV = max(maxValue ?? (series.flatMap(\.2) + (line.map { [$0] } ?? [])).max() ?? 1, 1e-12)
        var s = "<svg width=\"\(Int(w))\" height=\"\(Int(h + top + bottom))\">"
        for (k, (name, color, _)) in series.enumerated() {
            s += "<rect x=\"\(60 + 110 * Double(k))\" y=\"4\" width=\"10\" height=\"10\" fill=\"\(color)\"/><text x=\"\(74 + 110 * Double(k))\" y=\"13\">\(esc(name))</text>"
        }
        let bw = slot / Double(series.count + 1)
        for i in 0..<labels.count {
            for (k, (_, color, values)) in series.enumerated() {
                let v = i < values.count ? values[i] : 0
                let bh = h * v / maxV
                s += "<rect x=\(String(format: "\"%.1f\"", 60 + slot * Double(i) + bw * Double(k))) y=\(String(format: "\"%.1f\"", top + h - bh)) width=\(String(format: "\"%.1f\"", bw)) height=\(String(format: "\"%.1f\"", bh)) fill=\"\(color)\"><title>\(esc(labels[i])): \(v)</title></rect>"
            }
        }
        s += "<text x=\"4\" y=\"\(top + 8)\">\(Markdown.int(Int(maxV)))</text><text x=\"4\" y=\"\(top + h)\">0</text>"
        if let line {
            let y = top + h - h * line / maxV
            s += "<line x1=\"60\" x2=\"\(w)\" y1=\"\(y)\" y2=\"\(y)\" stroke=\"#b00\" stroke-dasharray=\"4\"/><text x=\"62\" y=\"\(y - 2)\" fill=\"#b00\">\(esc(lineLabel))</text>"
        }
        s += "<text x=\"60\" y=\"\(top + h + 20)\">layers in execution order (hover for names)</text>"
        return s + "</svg>\n"
    }

    static func line(title: String, values: [Double]) -> String {
        let w = 700.0, h = 180.0
        guard let lo = values.min(), let hi = values.max() else { return "" }
        let span = max(hi - lo, 1e-12)
        var best = -Double.infinity
        var pts = "", bestPts = ""
        for (i, v) in values.enumerated() {
            best = max(best, v)
            let x = 40 + (w - 50) * Double(i) / Double(max(values.count - 1, 1))
            pts += String(format: "%.1f,%.1f ", x, 20 + (h - 30) * (1 - (v - lo) / span))
            bestPts += String(format: "%.1f,%.1f ", x, 20 + (h - 30) * (1 - (best - lo) / span))
        }
        return "<svg width=\"\(Int(w))\" height=\"\(Int(h))\"><text x=\"4\" y=\"12\">\(esc(title))</text>"
            + "<polyline points=\"\(pts)\" fill=\"none\" stroke=\"#999\"/><polyline points=\"\(bestPts)\" fill=\"none\" stroke=\"#b00\" stroke-width=\"2\"/></svg>\n"
    }
}
