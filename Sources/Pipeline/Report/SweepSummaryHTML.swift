import Foundation

/// `summary.html`: the sweep of one model on one page, drawn from the `SweepSummary` value that
/// is also encoded to `summary.json`: a table per budget, the Pareto fronts of accuracy against
/// FLASH and against RAM with the knee marked, and accuracy per budget.
enum SweepSummaryHTML {
    static func render(_ s: SweepSummary) -> String {
        let measure = s.accuracyMeasure == "accuracy" ? "top-1 accuracy (quantized, %)" : "top-1 agreement with float (%)"
        let measured = s.points.filter { $0.accuracy(s.accuracyMeasure) != nil }
        var body = "<h1>tinympq sweep: \(esc(s.model))</h1>\n<p class=sub>\(s.points.count) budgets; tinympq \(esc(s.tool)). "
        body += s.accuracyMeasure == "accuracy" ? "Accuracy is the quantized model's top-1 accuracy on the labelled validation data."
            : "No labels: the figure is the top-1 agreement of the quantized model with the float model, not an accuracy."
        body += "</p>\n"
        let missing = s.points.filter { $0.status == "missing" }.count
        if missing > 0 { body += "<p class=\"bad banner\">\(missing) of \(s.points.count) budgets have no report yet (another shard, or not run).</p>\n" }
        if let k = s.points.first(where: { $0.folder == s.kneeFlash }) {
            body += "<div class=cards><div class=card><div class=k>knee of accuracy against FLASH</div><div class=v>\(esc(k.budget))</div></div>"
            if let a = k.accuracy(s.accuracyMeasure), let f = k.flashBytes {
                body += "<div class=card><div class=k>there</div><div class=v>\(String(format: "%.2f%%", a)) at \(Markdown.int(f)) B FLASH</div></div>"
            }
            if let r = s.points.first(where: { $0.folder == s.kneeRam }) {
                body += "<div class=card><div class=k>knee of accuracy against RAM</div><div class=v>\(esc(r.budget))</div></div>"
            }
            body += "</div>\n"
        }
        // Columns that apply: instructions only when some budget ran on a target.
        let targets = Set(s.points.flatMap { ($0.instructionsPerInference ?? [:]).keys }).sorted()
        body += "<section><h2>Budgets</h2><div class=wide><table><tr><th class=l>budget</th><th>FLASH used / budget B</th><th>RAM used / budget B</th>"
        body += "<th class=l>fits</th><th>accuracy %</th><th>agreement %</th><th>mean KL</th>"
        for t in targets { body += "<th>instructions \(esc(t))</th>" }
        body += "<th class=l>front</th></tr>"
        for p in s.points {
            let fits = p.fits.map { $0 ? "yes" : "no" } ?? (p.status == "missing" ? "not run" : "failed")
            var front: [String] = []
            if s.paretoFlash.contains(p.folder) { front.append("FLASH") }
            if s.paretoRam.contains(p.folder) { front.append("RAM") }
            if p.folder == s.kneeFlash { front.append("knee") }
            body += "<tr><td class=\"l nowrap\"><a href=\"../\(esc(p.folder))/report.html\">\(esc(p.budget))</a></td>"
            body += "<td class=nowrap>\(p.flashBytes.map(Markdown.int) ?? "-") / \(Markdown.int(p.budgetFlashBytes))</td>"
            body += "<td class=nowrap>\(p.ramBytes.map(Markdown.int) ?? "-") / \(Markdown.int(p.budgetRamBytes))</td>"
            body += "<td class=\"l \(p.fits == true ? "ok" : "bad")\">\(fits)</td><td>\(p.accuracyQuantized.map { String(format: "%.2f", $0) } ?? "-")</td>"
            body += "<td>\(p.top1Agreement.map { String(format: "%.2f", $0) } ?? "-")</td><td>\(p.meanKL.map { String(format: "%.5f", $0) } ?? "-")</td>"
            for t in targets { body += "<td>\(p.instructionsPerInference?[t].map(Markdown.int) ?? "-")</td>" }
            body += "<td class=\"l nowrap\">\(front.joined(separator: ", "))</td></tr>"
            if let e = p.error { body += "<tr><td class=\"l bad\" colspan=\(8 + targets.count)>\(esc(p.budget)): \(esc(e))</td></tr>" }
        }
        body += "</table></div></section>\n"
        body += "<section><h2>Pareto fronts</h2>"
        for (id, title, key, front, knee) in [("pareto-flash", "FLASH used (bytes, kB = 1000 B)", \SweepSummary.Point.flashBytes, s.paretoFlash, s.kneeFlash),
                                              ("pareto-ram", "RAM used: the activation arena (bytes, kB = 1000 B)", \SweepSummary.Point.ramBytes, s.paretoRam, s.kneeRam)] {
            let points = measured.compactMap { p -> SVGChart.Point? in
                guard let x = p[keyPath: key], let y = p.accuracy(s.accuracyMeasure), p.fits == true else { return nil }
                return SVGChart.Point(label: p.budget, x: Double(x), y: y, onFront: front.contains(p.folder), emphasis: p.folder == knee ? "knee: \(p.budget)" : nil)
            }
            let caption = "\(measure) against \(title.components(separatedBy: " (").first ?? title): each budget that fits is a point; the front (red) "
                + "holds the budgets no other beats on both; the knee is where extra bytes stop buying much accuracy."
            body += HTMLReport.figure(caption, SVGChart.scatter(id: id, points: points, xTitle: title, yTitle: measure, xFormat: SVGChart.bytes,
                                                                yFormat: { String(format: "%.0f", $0) }))
        }
        let rows = s.points.map { p in SVGChart.Row(label: p.budget, values: [p.accuracy(s.accuracyMeasure)], highlight: p.folder == s.kneeFlash,
                                                    note: p.fits == false ? "does not fit" : p.status == "missing" ? "not run" : "no figure") }
        body += HTMLReport.figure("\(measure) per budget (the knee highlighted).",
                                  SVGChart.bars(id: "accuracy", series: [.init(name: "accuracy", color: HTMLReport.colors[0])], rows: rows,
                                                axisTitle: measure, axis: [0, 20, 40, 60, 80, 100], format: { String(format: "%.1f", $0) },
                                                tickFormat: { String(format: "%.0f", $0) }))
        body += "</section>\n"
        return HTMLReport.page(title: "tinympq sweep: \(s.model)", body: body)
    }

    static func esc(_ s: String) -> String { HTMLReport.esc(s) }
}
