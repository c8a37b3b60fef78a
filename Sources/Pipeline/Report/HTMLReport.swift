import Foundation

/// `report.html`: one self-contained page (no script, no external file, printable) drawn from
/// the `RunReport` value that is also encoded to `report.json`, so the two cannot disagree.
///
/// Charts (each an inline SVG, `SVGChart`): budget use, bits per layer, RAM live at each step
/// against the budget with the peak marked, FLASH per layer, per-layer SQNR, searcher scores,
/// the HAQ reward curve, instructions per layer on each target.
enum HTMLReport {
    static let colors = ["#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377"]

    static func render(_ r: RunReport) -> String {
        var body = "<h1>tinympq report: \(esc(r.model))</h1>\n<p class=sub>model file <code>\(esc(r.file))</code>; tinympq \(esc(r.tool))"
        if let b = r.budget { body += "; budget <b>\(esc(b.name ?? "default"))</b> (\(esc(b.file.isEmpty ? "given" : b.file))), target \(esc(b.target))" }
        body += "</p>\n"
        if let e = r.error { body += "<p class=\"bad banner\"><b>FAILED:</b> \(esc(e))</p>\n" }
        body += overview(r)
        body += stages(r)
        body += memory(r)
        body += bits(r)
        body += validation(r)
        body += search(r)
        body += codegen(r)
        if let g = r.graph {
            body += "<section><h2>Model</h2><p>\(g.nodes) ops, \(Markdown.int(g.params)) parameters, \(Markdown.int(g.macs)) MACs per inference; "
            body += "at 8 bits the largest activation is \(Markdown.int(g.largestActivationBytes8)) B and the largest inputs + output of one op "
            body += "\(Markdown.int(g.peakInOutBytes8)) B. The per-op table is in <a href=\"report.md\">report.md</a>.</p></section>\n"
        }
        return page(title: "tinympq: \(r.model)", body: body)
    }

    /// The page around a body: styles for screen and print.
    static func page(title: String, body: String) -> String {
        """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(esc(title))</title><style>
        body{font-family:"DejaVu Sans",Verdana,sans-serif;max-width:900px;margin:1.5em auto;padding:0 12px;color:#222;line-height:1.4}
        h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:2px;margin-top:1.6em}h3{font-size:1em;margin:1em 0 .3em}
        .sub{color:#555;margin-top:.2em}.bad{color:#b00}.ok{color:#070}.banner{border:1px solid #b00;padding:6px 10px;background:#fff3f3}
        table{border-collapse:collapse;margin:.5em 0;font-size:.9em}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
        th{background:#eee}td.l,th.l{text-align:left}.nowrap{white-space:nowrap}.wide{overflow-x:auto;max-width:100%}
        .cards{display:flex;flex-wrap:wrap;gap:8px;margin:.8em 0}.card{border:1px solid #ccc;border-radius:4px;padding:6px 10px;min-width:150px;flex:1}
        .card .k{font-size:.8em;color:#555}.card .v{font-size:1.15em;font-weight:bold}
        figure{margin:.6em 0 1.2em}figcaption{font-size:.9em;color:#444;margin-bottom:4px}
        svg.chart{display:block;max-width:100%;height:auto;background:#fcfcfc;border:1px solid #e4e4e4}
        svg text{font-family:"DejaVu Sans",Verdana,sans-serif;font-size:11px;fill:#222}svg text.tick{fill:#555}svg text.value{fill:#333;paint-order:stroke;stroke:#fcfcfc;stroke-width:3px}
        svg text.note{fill:#555;font-style:italic}svg text.callout{font-weight:bold;fill:#cc3311}
        @media print{body{max-width:none;margin:0;font-size:10pt}figure,table,.cards{break-inside:avoid}h2{break-after:avoid}a{color:inherit}
        svg.chart{border:none;background:none}}
        </style></head><body>
        \(body)
        </body></html>

        """
    }

    // MARK: - Sections

    static func overview(_ r: RunReport) -> String {
        var cards: [(String, String, Bool?)] = []
        if let b = r.budget, let f = r.footprint {
            cards.append(("FLASH (parameters)", "\(Markdown.int(f.flashBytes)) of \(Markdown.int(b.flashBytes)) B", f.flashBytes <= b.flashBytes))
            cards.append(("RAM (activation arena)", "\(Markdown.int(f.arenaBytes)) of \(Markdown.int(b.ramBytes)) B", f.arenaBytes <= b.ramBytes))
        }
        if let v = r.validation {
            if v.synthetic {
                cards.append(("accuracy", "NO DATA (synthetic inputs)", false))
            } else if let a = v.accuracyFloat, let q = v.accuracyQuantized {
                cards.append(("top-1 accuracy float → quantized", String(format: "%.2f%% → %.2f%%", a, q), v.passed))
            }
            cards.append(("top-1 agreement with float", String(format: "%.2f%%", v.top1Agreement), nil))
            cards.append(("mean KL(float ‖ quantized)", String(format: "%.5f", v.meanKL), nil))
        }
        if let c = r.codegen {
            cards.append(("generated C (host)", c.hostBitExact ? "bit-exact" : "NOT bit-exact", c.hostBitExact))
            for (t, e) in c.targets.sorted(by: { $0.key < $1.key }) {
                if let n = e["instructionsPerInference"].flatMap(Int.init) { cards.append(("instructions / inference, \(t)", Markdown.int(n), nil)) }
            }
        }
        guard !cards.isEmpty else { return "" }
        var s = "<div class=cards>"
        for (k, v, good) in cards {
            let cls = good.map { $0 ? " ok" : " bad" } ?? ""
            s += "<div class=card><div class=k>\(esc(k))</div><div class=\"v\(cls)\">\(esc(v))</div></div>"
        }
        return s + "</div>\n"
    }

    static func stages(_ r: RunReport) -> String {
        var s = "<section><h2>Stages</h2><table><tr><th class=l>stage</th><th class=l>status</th><th class=l>cached</th><th>seconds</th><th class=l>log</th></tr>"
        for name in RunOptions.stageOrder {
            guard let st = r.stages[name] else { continue }
            s += "<tr><td class=l>\(name)</td><td class=\"l \(st.status == "ok" ? "ok" : "bad")\">\(esc(st.status))</td><td class=l>\(st.cached ? "restored" : "ran")</td>"
            s += String(format: "<td>%.3f</td>", st.seconds) + "<td class=l><a href=\"\(esc(st.log))\">\(esc(st.log))</a></td></tr>"
        }
        return s + "</table></section>\n"
    }

    static func memory(_ r: RunReport) -> String {
        guard let b = r.budget, let f = r.footprint else { return "" }
        var s = "<section><h2>Memory</h2>"
        s += figure("Budget use: the memory model's FLASH and RAM as a share of the budget (100% = the budget).",
                    SVGChart.bars(id: "budget", series: [.init(name: "used", color: colors[0])],
                                  rows: [.init(label: "FLASH", values: [100 * Double(f.flashBytes) / Double(max(b.flashBytes, 1))], highlight: f.flashBytes > b.flashBytes),
                                         .init(label: "RAM", values: [100 * Double(f.arenaBytes) / Double(max(b.ramBytes, 1))], highlight: f.arenaBytes > b.ramBytes)],
                                  markers: [.init(value: 100, label: "budget", color: "#b00")], axisTitle: "share of the budget (%)",
                                  format: { String(format: "%.0f%%", $0) }))
        if let live = f.liveBytes, !live.isEmpty {
            let peak = live.max { $0.bytes < $1.bytes }!
            let peakName = peak.layer ?? "the input"
            var cause = peak.tensors.prefix(4).map { "<code>\(esc($0.name))</code> (\(Markdown.int($0.bytes)) B)" }.joined(separator: " + ")
            if peak.tensors.count > 4 { cause += " and \(peak.tensors.count - 4) more" }
            let caption = "RAM live at each step of execution (activation buffers as the arena planner sizes them, 4-byte aligned), "
                + "against the RAM budget and the planned arena. Peak \(Markdown.int(peak.bytes)) B at step \(peak.step) (<code>\(esc(peakName))</code>, highlighted): "
                + cause + ". The arena (\(Markdown.int(f.arenaBytes)) B) is at least this peak; the gap is fragmentation."
            let rows = live.map { SVGChart.Row(label: $0.layer ?? "input", values: [Double($0.bytes)], highlight: $0.step == peak.step) }
            s += figure(caption, SVGChart.bars(id: "ram-live", series: [.init(name: "live bytes", color: colors[3])], rows: rows,
                                               markers: [.init(value: Double(b.ramBytes), label: "RAM budget \(Markdown.int(b.ramBytes)) B", color: "#b00"),
                                                         .init(value: Double(f.arenaBytes), label: "arena \(Markdown.int(f.arenaBytes)) B", color: "#555")],
                                               axisTitle: "bytes live (kB = 1000 B)", format: SVGChart.bytes), raw: true)
        }
        if let p = r.policy {
            let total = p.layers.reduce(0) { $0 + $1.parameterBytes }
            let caption = "FLASH per layer: packed weights + 12 B per output channel (bias, multiplier, shift) + lookup tables. "
                + "Total \(Markdown.int(total)) B of the \(Markdown.int(b.flashBytes)) B budget."
            s += figure(caption, SVGChart.bars(id: "flash", series: [.init(name: "parameter bytes", color: colors[2])],
                                               rows: p.layers.map { .init(label: $0.layer, values: [$0.parameterBytes > 0 ? Double($0.parameterBytes) : nil], note: "no parameters") },
                                               axisTitle: "bytes (kB = 1000 B)", format: SVGChart.bytes))
        }
        return s + "</section>\n"
    }

    static func bits(_ r: RunReport) -> String {
        guard let p = r.policy else { return "" }
        let rows = p.layers.map { SVGChart.Row(label: $0.layer, values: [$0.weightBits.map(Double.init), Double($0.outputBits)]) }
        return "<section><h2>Bits per layer</h2>" + figure("Bits of each layer's weights and of its output activation (policy: \(p.source)).",
            SVGChart.bars(id: "bits", series: [.init(name: "weights", color: colors[0]), .init(name: "output activation", color: colors[1])], rows: rows,
                          axisTitle: "bits", axis: [0, 2, 4, 6, 8], format: { String(Int($0)) })) + "</section>\n"
    }

    static func validation(_ r: RunReport) -> String {
        guard let v = r.validation else { return "" }
        var s = "<section><h2>Validation</h2><p>"
        if v.synthetic { s += "<b class=bad>NO DATA: synthetic inputs, no accuracy claimed.</b> " }
        s += "\(esc(v.data)), \(v.images) inputs. "
        if let f = v.accuracyFloat, let q = v.accuracyQuantized { s += String(format: "Top-1 accuracy float %.2f%%, quantized %.2f%% (drop %.2f points). ", f, q, f - q) }
        s += String(format: "Top-1 agreement with float %.2f%%", v.top1Agreement)
        if let t5 = v.top5Agreement { s += String(format: ", float's top-1 within the quantized top-5 %.2f%%", t5) }
        s += String(format: "; mean KL %.5f (without bias correction: agreement %.2f%%, KL %.5f).", v.meanKL, v.biasCorrection.top1AgreementWithout,
                    v.biasCorrection.meanKLWithout)
        if let gate = v.maxAccuracyDrop { s += " Accuracy gate (max drop \(gate) points): " + (v.passed ? "<span class=ok>passed</span>" : "<b class=bad>FAILED</b>") + "." }
        s += "</p>"
        if let layers = v.layers, !layers.isEmpty {
            let rows = layers.map { l -> SVGChart.Row in
                if l.sqnrDB >= 200 { return .init(label: l.layer, values: [nil], note: "no error (exact at \(l.bits) bits)") }
                if l.sqnrDB < 0 { return .init(label: l.layer, values: [nil], note: String(format: "%.1f dB (noise above signal)", l.sqnrDB)) }
                return .init(label: l.layer, values: [l.sqnrDB])
            }
            s += figure("Per-layer SQNR: each layer's dequantized integer output against the float model's (higher is better; where error enters).",
                        SVGChart.bars(id: "sqnr", series: [.init(name: "SQNR", color: colors[4])], rows: rows, axisTitle: "SQNR (dB)",
                                      format: { String(format: "%.1f dB", $0) }, tickFormat: { String(format: "%.0f", $0) }))
        }
        return s + "</section>\n"
    }

    static func search(_ r: RunReport) -> String {
        guard let sr = r.search else { return "" }
        var s = "<section><h2>Search</h2><p>Chosen: <b>\(esc(sr.method))</b>, score \(String(format: "%.5f", sr.score)) (sum over tensors of the output KL "
        s += "when only that tensor is quantized, \(sr.sensitivityImages) calibration images)"
        if let rho = sr.rankCorrelation { s += String(format: "; the score ranks fully quantized models with Spearman ρ = %.2f against their measured KL", rho) }
        s += ".</p><div class=wide><table><tr><th class=l>searcher</th><th>score</th><th>FLASH B</th><th>RAM B</th><th class=l>fits</th><th>seconds</th><th class=l>note</th></tr>"
        for row in sr.comparison {
            s += String(format: "<tr><td class=l>%@</td><td>%.5f</td><td>%@</td><td>%@</td><td class=\"l %@\">%@</td><td>%.3f</td><td class=l>%@</td></tr>",
                        esc(row.method), row.score, Markdown.int(row.flashBytes), Markdown.int(row.ramBytes), row.fits ? "ok" : "bad",
                        row.fits ? "yes" : "no", row.seconds, esc(row.note ?? ""))
        }
        s += "</table></div>"
        let rows = sr.comparison.map { SVGChart.Row(label: $0.method + ($0.fits ? "" : " (does not fit)"), values: [$0.score], highlight: $0.method == sr.method) }
        s += figure("Score of each searcher's policy under this budget (lower is better; the chosen one highlighted).",
                    SVGChart.bars(id: "searchers", series: [.init(name: "score", color: colors[5])], rows: rows, axisTitle: "score (sum of KL)",
                                  format: { String(format: "%.4g", $0) }))
        if let curve = sr.curve, !curve.isEmpty {
            var best = -Double.infinity
            let bestSoFar = curve.map { v -> Double in best = max(best, v); return best }
            s += figure("HAQ: reward of each episode's policy and the best so far (\(curve.count) episodes).",
                        SVGChart.lines(id: "haq", series: [(.init(name: "reward", color: "#999999"), curve), (.init(name: "best so far", color: "#cc3311"), bestSoFar)],
                                       xTitle: "episode", yTitle: "reward", format: { String(format: "%.3g", $0) }))
        }
        return s + "</section>\n"
    }

    static func codegen(_ r: RunReport) -> String {
        guard let c = r.codegen else { return "" }
        var s = "<section><h2>Generated C</h2><p>Project in <a href=\"c/\">c/</a>: \(Markdown.int(c.parameterBytes)) parameter bytes in <code>.nn_params</code>, "
        s += "arena \(Markdown.int(c.arenaBytes)) B in <code>.nn_arena</code>. Host build: "
        s += c.hostBitExact ? "<span class=ok>bit-exact with the Swift integer engine</span> (output and every layer checksum)." : "<b class=bad>NOT bit-exact</b>."
        s += c.passed ? "" : " <b class=bad>Problems:</b> " + c.problems.map(esc).joined(separator: "; ")
        s += "</p>"
        let targets = c.targets.keys.sorted()
        // The sections that hold the model, the code and the RAM (report.json has every section).
        let shown = ["section.nn_params", "section.nn_arena", "section.text", "section.rodata", "section.data", "section.bss", "section.stack"]
        let present = Set(c.targets.values.flatMap(\.keys))
        let sections = shown.filter(present.contains)
        if !targets.isEmpty {
            s += "<div class=wide><table><tr><th class=l>target</th><th class=l>built</th><th class=l>bit-exact (QEMU)</th>"
            for k in sections { s += "<th>\(esc(String(k.dropFirst("section".count)))) B</th>" }
            s += "<th>instructions / inference</th></tr>"
            for t in targets {
                let e = c.targets[t] ?? [:]
                let built = e["skipped"].map { "skipped: " + $0 } ?? (e["built"] == "true" ? "yes" : "no")
                let exact = e["ran"] == "true" ? (e["bitExact"] == "true" ? "yes" : "NO") : "-"
                s += "<tr><td class=l>\(esc(t))</td><td class=l>\(esc(built))</td><td class=\"l \(exact == "yes" ? "ok" : exact == "NO" ? "bad" : "")\">\(exact)</td>"
                for k in sections { s += "<td>\(e[k].flatMap(Int.init).map(Markdown.int) ?? "-")</td>" }
                s += "<td>\(e["instructionsPerInference"].flatMap(Int.init).map(Markdown.int) ?? "-")</td></tr>"
                if let m = e["linkerMessage"] { s += "<tr><td class=l colspan=\(sections.count + 4)><b class=bad>linker:</b> \(esc(m))</td></tr>" }
            }
            s += "</table></div><p class=sub>Sections measured with <code>arm-none-eabi-size -A</code>; instructions are QEMU's executed-instruction count, not cycles.</p>"
        }
        let counted = targets.filter { t in c.layers.contains { $0.instructions[t] != nil } }
        if !counted.isEmpty {
            let series = counted.enumerated().map { SVGChart.Series(name: $0.element, color: colors[$0.offset % colors.count]) }
            let rows = c.layers.map { l in SVGChart.Row(label: l.name, values: counted.map { l.instructions[$0].map(Double.init) }) }
            s += figure("Instructions per layer on each target (QEMU count).",
                        SVGChart.bars(id: "instructions", series: series, rows: rows, axisTitle: "instructions", format: SVGChart.count))
            s += "<div class=wide><table><tr><th>#</th><th class=l>layer</th><th class=l>op</th><th class=l>bits in/w/out</th><th>MACs</th>"
            for t in counted { s += "<th>\(esc(t)) instructions</th><th>per MAC</th>" }
            s += "</tr>"
            for (i, l) in c.layers.enumerated() {
                s += "<tr><td>\(i)</td><td class=l><code>\(esc(l.name))</code></td><td class=l>\(esc(l.op))</td><td class=l>\(esc(l.bits))</td><td>\(Markdown.int(l.macs))</td>"
                for t in counted {
                    let n = l.instructions[t]
                    s += "<td>\(n.map(Markdown.int) ?? "-")</td><td>\(n.flatMap { l.macs > 0 ? String(format: "%.2f", Double($0) / Double(l.macs)) : nil } ?? "-")</td>"
                }
                s += "</tr>"
            }
            s += "</table></div>"
        }
        return s + "</section>\n"
    }

    /// A captioned chart; `raw` captions may hold markup (already escaped).
    static func figure(_ caption: String, _ svg: String, raw: Bool = false) -> String {
        guard !svg.isEmpty else { return "" }
        return "<figure><figcaption>\(raw ? caption : esc(caption))</figcaption>\(svg)</figure>\n"
    }

    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}
