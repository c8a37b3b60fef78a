import Foundation

/// Inline SVG charts for the HTML pages (`report.html`, `summary.html`): no script, no external
/// file, readable when printed. Every mark carries its number in `data-value` (the value drawn)
/// and every chart names itself in `data-chart` and its value axis in `data-axis-max`, so a test
/// can compare what a browser draws with report.json.
///
/// Text widths are estimated at 6.8 px per character of the 11 px sans-serif font; labels longer
/// than their column are shortened in the middle (the full text stays in a `<title>`).
enum SVGChart {
    static let width = 860.0
    static let charWidth = 6.8

    /// A value axis: its end and the ticks drawn on it.
    struct Axis {
        var max: Double
        var ticks: [Double]

        /// Ticks at 1, 2 or 5 × 10^k covering 0...`upTo` (at least one step).
        init(upTo v: Double, fixed: [Double]? = nil) {
            if let fixed, let last = fixed.last {
                max = last
                ticks = fixed
                return
            }
            let target = v > 0 && v.isFinite ? v : 1
            let raw = target / 5
            let mag = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
            let n = Int((target / step).rounded(.up))
            max = Double(Swift.max(n, 1)) * step
            ticks = (0...Swift.max(n, 1)).map { Double($0) * step }
        }
    }

    struct Series {
        var name: String
        var color: String
    }

    struct Row {
        var label: String
        /// One value per series; nil draws nothing (e.g. a layer without weights).
        var values: [Double?]
        var highlight = false
        /// Text drawn instead of a bar when every value is nil (e.g. "no error").
        var note: String? = nil
    }

    /// A vertical reference line across the plot (a budget, the arena).
    struct Marker {
        var value: Double
        var label: String
        var color: String
    }

    /// Horizontal bars, one row per item (layers top to bottom in execution order), a value axis
    /// with ticks and a title at the bottom, optional reference lines listed in the legend.
    static func bars(id: String, series: [Series], rows: [Row], markers: [Marker] = [], axisTitle: String,
                     axis fixedTicks: [Double]? = nil, format: (Double) -> String, tickFormat: ((Double) -> String)? = nil) -> String {
        let values = rows.flatMap { $0.values.compactMap { $0 } } + markers.map(\.value)
        let axis = Axis(upTo: values.max() ?? 1, fixed: fixedTicks)
        let longest = rows.map(\.label.count).max() ?? 4
        let labelWidth = min(300, max(60, Double(longest) * charWidth + 12))
        let x0 = labelWidth + 8, x1 = width - 96
        let barH = 12.0, gap = 2.0
        let rowH = Double(series.count) * (barH + gap) + 6
        let legendH = (series.count > 1 || !markers.isEmpty) ? 22.0 : 6.0
        let top = legendH
        let plotH = rowH * Double(rows.count)
        let height = top + plotH + 42
        let scale = { (v: Double) in (x1 - x0) * min(max(v, 0), axis.max) / axis.max }
        var s = "<svg class=\"chart\" data-chart=\"\(esc(id))\" data-axis-max=\"\(axis.max)\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
        s += "width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += legend(series: series, markers: markers, y: 14, x: x0)
        s += "<rect class=\"plot\" x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(x1 - x0))\" height=\"\(f(plotH))\" fill=\"none\"/>"
        // Grid and ticks.
        for t in axis.ticks {
            let x = x0 + scale(t)
            s += "<line x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#ddd\"/>"
            s += "<text class=\"tick\" x=\"\(f(x))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(esc(tickFormat?(t) ?? format(t)))</text>"
        }
        s += "<line x1=\"\(f(x0))\" x2=\"\(f(x0))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#444\"/>"
        s += "<text class=\"axis-title\" x=\"\(f((x0 + x1) / 2))\" y=\"\(f(top + plotH + 34))\" text-anchor=\"middle\">\(esc(axisTitle))</text>"
        let maxChars = Int((labelWidth - 10) / charWidth)
        var valueLabels = ""
        for (i, r) in rows.enumerated() {
            let y = top + rowH * Double(i) + 3
            if r.highlight {
                s += "<rect x=\"0\" y=\"\(f(y - 2))\" width=\"\(f(x1))\" height=\"\(f(rowH - 2))\" fill=\"#fdecc8\"/>"
            }
            s += "<text class=\"label\" x=\"\(f(labelWidth))\" y=\"\(f(y + rowH / 2))\" text-anchor=\"end\"><title>\(esc(r.label))</title>"
            s += "\(esc(shorten(r.label, maxChars)))</text>"
            if r.values.allSatisfy({ $0 == nil }), let note = r.note {
                s += "<text class=\"note\" x=\"\(f(x0 + 4))\" y=\"\(f(y + rowH / 2))\">\(esc(note))</text>"
            }
            for (k, v) in r.values.enumerated() {
                guard let v, k < series.count else { continue }
                let by = y + Double(k) * (barH + gap)
                let w = scale(v)
                s += "<rect class=\"bar\" data-row=\"\(esc(r.label))\" data-series=\"\(esc(series[k].name))\" data-value=\"\(v)\" "
                s += "x=\"\(f(x0))\" y=\"\(f(by))\" width=\"\(f(w))\" height=\"\(f(barH))\" fill=\"\(series[k].color)\">"
                s += "<title>\(esc(r.label)), \(esc(series[k].name)): \(esc(format(v)))</title></rect>"
                // Past any reference line the label would sit on.
                var lx = x0 + w + 4
                let textW = Double(format(v).count) * charWidth
                for mx in markers.map({ x0 + scale($0.value) }).sorted() where mx >= lx - 3 && mx <= lx + textW + 6 { lx = mx + 4 }
                valueLabels += "<text class=\"value\" x=\"\(f(lx))\" y=\"\(f(by + barH - 2))\">\(esc(format(v)))</text>"
            }
        }
        for m in markers {
            let x = x0 + scale(m.value)
            s += "<line class=\"marker\" data-value=\"\(m.value)\" x1=\"\(f(x))\" x2=\"\(f(x))\" y1=\"\(f(top - 2))\" y2=\"\(f(top + plotH))\" "
            s += "stroke=\"\(m.color)\" stroke-width=\"2\" stroke-dasharray=\"5 3\"><title>\(esc(m.label))</title></line>"
        }
        // Value labels last, over the reference lines (with a halo, see the page's style).
        return s + valueLabels + "</svg>\n"
    }

    /// One or more lines over a common x axis (e.g. reward per episode).
    static func lines(id: String, series: [(Series, [Double])], xTitle: String, yTitle: String, format: (Double) -> String) -> String {
        let n = series.map(\.1.count).max() ?? 0
        guard n > 0 else { return "" }
        let all = series.flatMap(\.1).filter(\.isFinite)
        let lo = min(all.min() ?? 0, 0), hi = max(all.max() ?? 1, 0)
        let x0 = 70.0, x1 = width - 20, top = 24.0, plotH = 200.0
        let yAxis = Axis(upTo: hi - lo)
        let yMin = lo < 0 ? -Axis(upTo: -lo).max : 0
        let ySpan = max((hi > 0 ? yAxis.max : 0) - yMin, 1e-12)
        let yTicks = Axis(upTo: ySpan).ticks.map { yMin + $0 }.filter { $0 <= yMin + ySpan + 1e-9 }
        let xAxis = Axis(upTo: Double(n))
        let px = { (i: Double) in x0 + (x1 - x0) * i / xAxis.max }
        let py = { (v: Double) in top + plotH * (1 - (v - yMin) / ySpan) }
        let height = top + plotH + 42
        var s = "<svg class=\"chart\" data-chart=\"\(esc(id))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        s += "role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += legend(series: series.map(\.0), markers: [], y: 14, x: x0)
        for t in yTicks {
            s += "<line x1=\"\(f(x0))\" x2=\"\(f(x1))\" y1=\"\(f(py(t)))\" y2=\"\(f(py(t)))\" stroke=\"#ddd\"/>"
            s += "<text class=\"tick\" x=\"\(f(x0 - 4))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(esc(format(t)))</text>"
        }
        for t in xAxis.ticks {
            s += "<text class=\"tick\" x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(Int(t))</text>"
        }
        s += "<line x1=\"\(f(x0))\" x2=\"\(f(x1))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(f(x0))\" x2=\"\(f(x0))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#444\"/>"
        s += "<text class=\"axis-title\" x=\"\(f((x0 + x1) / 2))\" y=\"\(f(top + plotH + 34))\" text-anchor=\"middle\">\(esc(xTitle))</text>"
        s += "<text class=\"axis-title\" transform=\"translate(14 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yTitle))</text>"
        for (sr, values) in series {
            let pts = values.enumerated().map { "\(f(px(Double($0.offset + 1)))),\(f(py($0.element)))" }.joined(separator: " ")
            s += "<polyline class=\"line\" data-series=\"\(esc(sr.name))\" data-count=\"\(values.count)\" points=\"\(pts)\" fill=\"none\" "
            s += "stroke=\"\(sr.color)\" stroke-width=\"1.5\"/>"
        }
        return s + "</svg>\n"
    }

    /// A point of a scatter chart.
    struct Point {
        var label: String
        var x: Double
        var y: Double
        var onFront = false
        var emphasis: String? = nil
    }

    /// Points (x, y) with the front through the `onFront` points (sorted by x) and one
    /// emphasised point named beside it.
    static func scatter(id: String, points: [Point], xTitle: String, yTitle: String, xFormat: (Double) -> String, yFormat: (Double) -> String,
                        xMarkers: [Marker] = []) -> String {
        guard !points.isEmpty else { return "" }
        let x0 = 70.0, x1 = width - 30, top = 24.0, plotH = 240.0
        let xAxis = Axis(upTo: (points.map(\.x) + xMarkers.map(\.value)).max() ?? 1)
        let ys = points.map(\.y)
        // The y axis starts at the tick just under the lowest point, so differences show.
        let lowY = ys.min() ?? 0, highY = ys.max() ?? 100
        let spanAxis = Axis(upTo: max(highY - lowY, 1))
        let step = spanAxis.ticks.count > 1 ? spanAxis.ticks[1] : spanAxis.max
        let yMin = max(0, (lowY / step).rounded(.down) * step)
        let steps = max(1, Int(((highY - yMin) / step).rounded(.up)))
        let yRange = Axis(upTo: 0, fixed: (0...steps).map { Double($0) * step })
        let ySpan = yRange.max
        let px = { (v: Double) in x0 + (x1 - x0) * v / xAxis.max }
        let py = { (v: Double) in top + plotH * (1 - (v - yMin) / ySpan) }
        let height = top + plotH + 42
        var s = "<svg class=\"chart\" data-chart=\"\(esc(id))\" data-axis-max=\"\(xAxis.max)\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" "
        s += "width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">"
        s += legend(series: [Series(name: "budget point", color: "#4477aa"), Series(name: "Pareto front", color: "#cc3311")], markers: xMarkers, y: 14, x: x0)
        s += "<rect class=\"plot\" x=\"\(f(x0))\" y=\"\(f(top))\" width=\"\(f(x1 - x0))\" height=\"\(f(plotH))\" fill=\"none\"/>"
        for t in yRange.ticks {
            let v = yMin + t
            s += "<line x1=\"\(f(x0))\" x2=\"\(f(x1))\" y1=\"\(f(py(v)))\" y2=\"\(f(py(v)))\" stroke=\"#ddd\"/>"
            s += "<text class=\"tick\" x=\"\(f(x0 - 4))\" y=\"\(f(py(v) + 4))\" text-anchor=\"end\">\(esc(yFormat(v)))</text>"
        }
        for t in xAxis.ticks {
            s += "<line x1=\"\(f(px(t)))\" x2=\"\(f(px(t)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH + 4))\" stroke=\"#eee\"/>"
            s += "<text class=\"tick\" x=\"\(f(px(t)))\" y=\"\(f(top + plotH + 16))\" text-anchor=\"middle\">\(esc(xFormat(t)))</text>"
        }
        s += "<line x1=\"\(f(x0))\" x2=\"\(f(x1))\" y1=\"\(f(top + plotH))\" y2=\"\(f(top + plotH))\" stroke=\"#444\"/>"
        s += "<line x1=\"\(f(x0))\" x2=\"\(f(x0))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" stroke=\"#444\"/>"
        s += "<text class=\"axis-title\" x=\"\(f((x0 + x1) / 2))\" y=\"\(f(top + plotH + 34))\" text-anchor=\"middle\">\(esc(xTitle))</text>"
        s += "<text class=\"axis-title\" transform=\"translate(14 \(f(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(esc(yTitle))</text>"
        for m in xMarkers {
            s += "<line class=\"marker\" data-value=\"\(m.value)\" x1=\"\(f(px(m.value)))\" x2=\"\(f(px(m.value)))\" y1=\"\(f(top))\" y2=\"\(f(top + plotH))\" "
            s += "stroke=\"\(m.color)\" stroke-width=\"2\" stroke-dasharray=\"5 3\"><title>\(esc(m.label))</title></line>"
        }
        let front = points.filter(\.onFront).sorted { $0.x < $1.x }
        if front.count > 1 {
            // A staircase: accuracy holds from one front point until the next one buys more.
            var pts: [String] = []
            for (i, p) in front.enumerated() {
                if i > 0 { pts.append("\(f(px(p.x))),\(f(py(front[i - 1].y)))") }
                pts.append("\(f(px(p.x))),\(f(py(p.y)))")
            }
            s += "<polyline class=\"front\" points=\"\(pts.joined(separator: " "))\" fill=\"none\" stroke=\"#cc3311\" stroke-width=\"2\"/>"
        }
        for p in points {
            let r = p.emphasis != nil ? 7.0 : 5.0
            s += "<circle class=\"point\" data-label=\"\(esc(p.label))\" data-x=\"\(p.x)\" data-y=\"\(p.y)\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"\(r)\" "
            s += "fill=\"\(p.onFront ? "#cc3311" : "#4477aa")\" stroke=\"#fff\"><title>\(esc(p.label)): \(esc(xFormat(p.x))), \(esc(yFormat(p.y)))</title></circle>"
        }
        for p in points {
            guard let e = p.emphasis else { continue }
            // Up and to the left of a front point nothing can lie (it would dominate the point),
            // so the name goes there; to the right when the left has no room.
            let x = px(p.x), y = py(p.y)
            let textW = Double(e.count) * charWidth
            let leftSide = x - 10 - textW >= x0 + 4
            let ty = y - 10 < top + 12 ? y + 4 : y - 10
            s += "<text class=\"callout\" x=\"\(f(leftSide ? x - 10 : x + 10))\" y=\"\(f(ty))\" text-anchor=\"\(leftSide ? "end" : "start")\">\(esc(e))</text>"
        }
        return s + "</svg>\n"
    }

    static func legend(series: [Series], markers: [Marker], y: Double, x: Double) -> String {
        guard series.count > 1 || !markers.isEmpty else { return "" }
        var s = "", cx = x
        for sr in series where series.count > 1 {
            s += "<rect x=\"\(f(cx))\" y=\"\(f(y - 9))\" width=\"10\" height=\"10\" fill=\"\(sr.color)\"/>"
            s += "<text class=\"legend\" x=\"\(f(cx + 14))\" y=\"\(f(y))\">\(esc(sr.name))</text>"
            cx += 26 + Double(sr.name.count) * charWidth
        }
        for m in markers {
            s += "<line x1=\"\(f(cx))\" x2=\"\(f(cx + 16))\" y1=\"\(f(y - 4))\" y2=\"\(f(y - 4))\" stroke=\"\(m.color)\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>"
            s += "<text class=\"legend\" x=\"\(f(cx + 20))\" y=\"\(f(y))\">\(esc(m.label))</text>"
            cx += 32 + Double(m.label.count) * charWidth
        }
        return s
    }

    /// "/a/very/long/layer/name" → "…/long/layer/name" when longer than `maxChars`.
    static func shorten(_ s: String, _ maxChars: Int) -> String {
        guard s.count > maxChars, maxChars > 1 else { return s }
        return "…" + s.suffix(maxChars - 1)
    }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }
    static func esc(_ s: String) -> String { HTMLReport.esc(s) }

    /// Byte counts as people read them: "812 B", "3.9 kB", "1.20 MB" (kB = 1000).
    static func bytes(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return String(format: "%.2f MB", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0f kB", v / 1e3) }
        if a >= 1e3 { return String(format: "%.1f kB", v / 1e3) }
        return String(format: "%.0f B", v)
    }

    /// Counts: "950", "12.3 k", "1.25 M".
    static func count(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return String(format: "%.2f M", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0f k", v / 1e3) }
        if a >= 1e3 { return String(format: "%.1f k", v / 1e3) }
        return String(format: "%.0f", v)
    }
}
