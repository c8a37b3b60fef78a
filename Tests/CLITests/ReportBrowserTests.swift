import Foundation
import TestSupport
import Testing

/// Headless Chromium (Debian's `chromium`; `make test` installs it), or nil.
enum Chromium {
    static let path: URL? = {
        if let p = ProcessInfo.processInfo.environment["TINYMPQ_CHROMIUM"] { return URL(fileURLWithPath: p) }
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        for name in ["chromium", "chromium-headless-shell", "chromium-browser", "google-chrome"] {
            for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/" + name) { return URL(fileURLWithPath: d + "/" + name) }
        }
        return nil
    }()

    static func run(_ args: [String], profile: URL) throws -> ProcessResult {
        guard let path else { throw CocoaError(.fileNoSuchFile) }
        return try runProcess(path, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars", "--no-first-run",
                                     "--user-data-dir=\(profile.path)"] + args, timeout: 180)
    }
}

/// What a person sees of a report page in a real browser: the page is loaded in headless
/// Chromium with a measuring script appended to a copy (the published page has no script),
/// which writes the rendered boxes of every chart, bar, point and text; the published page
/// itself is screenshotted to `.build/browser/`.
@Suite(.enabled(if: Chromium.path != nil, "needs chromium (scripts/deps.sh --browser)"))
struct ReportBrowserTests {
    struct Box: Decodable {
        var x, y, w, h: Double
        func contains(_ o: Box, slack: Double = 1) -> Bool {
            o.x >= x - slack && o.y >= y - slack && o.x + o.w <= x + w + slack && o.y + o.h <= y + h + slack
        }
        func overlaps(_ o: Box) -> Bool {
            min(x + w, o.x + o.w) - max(x, o.x) > 1 && min(y + h, o.y + o.h) - max(y, o.y) > 1
        }
    }
    struct Bar: Decodable { var row: String; var series: String; var value: Double; var box: Box }
    struct Text: Decodable { var cls: String; var text: String; var box: Box }
    struct Point: Decodable { var label: String; var x: Double; var box: Box }
    struct Chart: Decodable {
        var id: String
        var axisMax: Double?
        var box: Box
        var plot: Box?
        var bars: [Bar]
        var texts: [Text]
        var points: [Point]
    }
    struct Page: Decodable {
        var width: Double
        var scrollWidth: Double
        var height: Double
        var charts: [Chart]
        var overflowing: [String]
    }

    static let measure = """
    <script>
    (function () {
      function box(e) { const r = e.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; }
      function own(t) { return [...t.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join(''); }
      const out = { width: document.documentElement.clientWidth, scrollWidth: document.documentElement.scrollWidth,
                    height: document.documentElement.scrollHeight, charts: [], overflowing: [] };
      for (const svg of document.querySelectorAll('svg.chart')) {
        const plot = svg.querySelector('rect.plot');
        out.charts.push({ id: svg.dataset.chart, axisMax: svg.dataset.axisMax ? parseFloat(svg.dataset.axisMax) : null, box: box(svg),
          plot: plot ? box(plot) : null,
          bars: [...svg.querySelectorAll('rect.bar')].map(r => ({ row: r.dataset.row, series: r.dataset.series, value: parseFloat(r.dataset.value), box: box(r) })),
          texts: [...svg.querySelectorAll('text')].map(t => ({ cls: t.getAttribute('class') || '', text: own(t), box: box(t) })),
          points: [...svg.querySelectorAll('circle.point')].map(p => ({ label: p.dataset.label, x: parseFloat(p.dataset.x), box: box(p) })) });
      }
      for (const e of document.querySelectorAll('td, th, p, h1, h2, figcaption, .card, .wide'))
        if (e.scrollWidth > e.clientWidth + 1) out.overflowing.push(e.textContent.slice(0, 80));
      const pre = document.createElement('pre'); pre.id = 'measurements'; pre.textContent = JSON.stringify(out);
      document.body.appendChild(pre);
    })();
    </script>
    """

    /// Loads `page` in Chromium at 1000 px wide, returns the measurements, and keeps a
    /// full-page screenshot as `.build/browser/<shot>.png`.
    func render(_ page: URL, shot: String, scratch: URL) throws -> Page {
        let html = try String(contentsOf: page, encoding: .utf8)
        #expect(!html.contains("<script"), "the published page must need no script")
        let probe = page.deletingLastPathComponent().appendingPathComponent(".measure-\(shot).html")
        try html.replacingOccurrences(of: "</body>", with: Self.measure + "</body>").write(to: probe, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: probe) }
        let dom = try Chromium.run(["--window-size=1000,900", "--dump-dom", probe.absoluteString], profile: scratch.appendingPathComponent("profile-\(shot)"))
        guard let start = dom.stdout.range(of: "<pre id=\"measurements\">"), let end = dom.stdout.range(of: "</pre>", range: start.upperBound..<dom.stdout.endIndex) else {
            Issue.record("no measurements from chromium: \(dom.stderr.suffix(2000))")
            throw CocoaError(.fileReadCorruptFile)
        }
        let text = String(dom.stdout[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&amp;", with: "&")
        let measured = try JSONDecoder().decode(Page.self, from: Data(text.utf8))
        let shots = Fixtures.packageRoot.appendingPathComponent(".build/browser")
        try FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        let png = shots.appendingPathComponent("\(shot).png")
        try? FileManager.default.removeItem(at: png)
        let r = try Chromium.run(["--window-size=1000,\(Int(measured.height.rounded(.up)) + 20)", "--screenshot=\(png.path)", page.absoluteString],
                                 profile: scratch.appendingPathComponent("profile-\(shot)-png"))
        let size = (try? FileManager.default.attributesOfItem(atPath: png.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "screenshot \(png.path) missing or empty: \(r.stderr.suffix(1000))")
        return measured
    }

    /// What any page must satisfy: nothing wider than the window, no text cut off, every
    /// chart's text inside the chart and not on top of other text, every non-zero bar visible
    /// and as long as its value on the chart's axis.
    func checkLayout(_ page: Page) {
        #expect(page.scrollWidth <= page.width + 1, "the page scrolls sideways: \(page.scrollWidth) > \(page.width)")
        #expect(page.overflowing.isEmpty, "text overflows its box: \(page.overflowing)")
        for c in page.charts {
            #expect(c.box.w > 300 && c.box.h > 60, "chart \(c.id) is \(c.box.w)×\(c.box.h) px")
            for t in c.texts where !t.text.isEmpty {
                #expect(c.box.contains(t.box), "chart \(c.id): text '\(t.text)' sticks out of the chart")
            }
            let texts = c.texts.filter { !$0.text.isEmpty }
            for (i, a) in texts.enumerated() {
                for b in texts[(i + 1)...] where a.box.overlaps(b.box) {
                    Issue.record("chart \(c.id): text '\(a.text)' overlaps '\(b.text)'")
                }
                for p in c.points where a.box.overlaps(p.box) {
                    Issue.record("chart \(c.id): text '\(a.text)' covers the point of \(p.label)")
                }
            }
            guard let plot = c.plot, let axisMax = c.axisMax else { continue }
            for b in c.bars where b.value > 0 {
                #expect(b.box.w >= 0.5 && b.box.h >= 4, "chart \(c.id): the bar of \(b.row) (\(b.value)) is not visible")
                let seen = b.box.w / plot.w * axisMax
                #expect(abs(seen - min(b.value, axisMax)) <= 0.005 * axisMax, "chart \(c.id): \(b.row) drawn as \(seen), data \(b.value)")
            }
        }
    }

    func chart(_ page: Page, _ id: String) -> Chart? {
        let c = page.charts.first { $0.id == id }
        #expect(c != nil, "chart '\(id)' missing")
        return c
    }

    @Test func shippedExampleReportShowsEveryChartWithTheReportJSONFigures() throws {
        let dir = Fixtures.temporaryDirectory("browser")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: w, withIntermediateDirectories: true)
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz", "digits_cnn.budget.json"] {
            try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("watched/\(f)"), to: w.appendingPathComponent(f))
        }
        let out = dir.appendingPathComponent("out")
        let run = try runProcess(try tinympqBinary(), ["run", w.path, "--out", out.path, "--cache", dir.appendingPathComponent("cache").path], timeout: 600)
        #expect(run.status == 0, "\(run.stderr)")
        let folder = out.appendingPathComponent("digits_cnn")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any] ?? [:]
        let page = try render(folder.appendingPathComponent("report.html"), shot: "report", scratch: dir)
        checkLayout(page)
        for id in ["budget", "ram-live", "flash", "bits", "sqnr", "searchers"] { _ = chart(page, id) }
        // SQNR: one bar per layer with a finite error, equal to report.json's figure.
        let layers = (report["validation"] as? [String: Any])?["layers"] as? [[String: Any]] ?? []
        #expect(!layers.isEmpty)
        if let sqnr = chart(page, "sqnr") {
            for l in layers {
                let name = l["layer"] as? String ?? "", db = l["sqnrDB"] as? Double ?? .nan
                let bar = sqnr.bars.first { $0.row == name }
                if db > 0 && db < 200 {
                    // Equal up to the last digit of the decimal text (two JSON printers).
                    #expect(abs((bar?.value ?? 0) - db) <= 1e-12 * db, "SQNR of \(name): drawn \(String(describing: bar?.value)), report.json \(db)")
                    #expect((bar?.box.w ?? 0) > 1, "SQNR bar of \(name) is empty")
                } else {
                    #expect(bar == nil)
                }
            }
        }
        // RAM: one bar per step; the longest is report.json's lower bound, under the budget line.
        let footprint = report["footprint"] as? [String: Any] ?? [:]
        if let ram = chart(page, "ram-live") {
            #expect(ram.bars.count == (footprint["liveBytes"] as? [Any])?.count)
            #expect(ram.bars.map(\.value).max() == (footprint["arenaLowerBound"] as? Int).map(Double.init))
        }
        // Bits: every layer, weights 2/4/8 where it has weights and its output's bits.
        let policy = (report["policy"] as? [String: Any])?["layers"] as? [[String: Any]] ?? []
        if let bits = chart(page, "bits") {
            #expect(bits.bars.filter { $0.series == "output activation" }.map(\.value) == policy.map { Double($0["outputBits"] as? Int ?? -1) })
        }
        // The searchers' scores are written beside their bars (not rounded to "0").
        if let s = chart(page, "searchers") {
            #expect(s.bars.count >= 3 && s.bars.allSatisfy { $0.box.w > 1 })
            #expect(s.texts.filter { $0.cls == "value" }.allSatisfy { $0.text != "0" && Double($0.text) != nil })
        }
        // Generated C: when the targets ran, instructions per layer per target.
        let codegen = report["codegen"] as? [String: Any]
        #expect(codegen != nil)
        let counted = ((codegen?["layers"] as? [[String: Any]]) ?? []).contains { !(($0["instructions"] as? [String: Any]) ?? [:]).isEmpty }
        if counted, let c = chart(page, "instructions") { #expect(!c.bars.isEmpty && c.bars.allSatisfy { $0.box.w > 0.5 }) }
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("<h2>Generated C</h2>") && html.contains("@media print"))
        // Printed: a PDF of several pages (kept beside the screenshots).
        let pdf = Fixtures.packageRoot.appendingPathComponent(".build/browser/report.pdf")
        try? FileManager.default.removeItem(at: pdf)
        _ = try Chromium.run(["--no-pdf-header-footer", "--print-to-pdf=\(pdf.path)", folder.appendingPathComponent("report.html").absoluteString],
                             profile: dir.appendingPathComponent("profile-pdf"))
        let printed = String(decoding: (try? Data(contentsOf: pdf)) ?? Data(), as: UTF8.self)
        #expect(printed.hasPrefix("%PDF") && printed.matches(of: /\/Type\s*\/Page[^s]/).count >= 2, "no PDF of several pages from --print-to-pdf")
    }

    @Test func sweepSummaryShowsTheParetoFrontsInABrowser() throws {
        let dir = Fixtures.temporaryDirectory("browser-sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = dir.appendingPathComponent("w")
        try FileManager.default.createDirectory(at: w, withIntermediateDirectories: true)
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz"] {
            try FileManager.default.copyItem(at: Fixtures.packageRoot.appendingPathComponent("watched/\(f)"), to: w.appendingPathComponent(f))
        }
        // Two RAM sizes × three FLASH sizes, the first with HAQ so its report draws the curve.
        try """
        { "budgets": [
          { "name": "haq", "target": "cortex-m4", "flash": "4kB", "ram": 1200, "search": { "method": "haq", "episodes": 30, "updatesPerEpisode": 1 },
            "data": "digits_cnn.npz", "validationData": "digits_cnn.val.npz" },
          { "name": "m4", "target": "cortex-m4", "sweep": { "flash": ["3kB", "3.5kB", "5kB"], "ram": [700, 1200] },
            "data": "digits_cnn.npz", "validationData": "digits_cnn.val.npz" } ] }
        """.write(to: w.appendingPathComponent("digits_cnn.budget.json"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out")
        let run = try runProcess(try tinympqBinary(), ["run", w.path, "--out", out.path, "--until", "validate"], timeout: 600)
        #expect(run.status == 0 || run.status == 3, "\(run.stderr)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("digits_cnn.sweep/summary.json"))) as? [String: Any] ?? [:]
        let points = summary["points"] as? [[String: Any]] ?? []
        #expect(points.count == 7)
        let page = try render(out.appendingPathComponent("digits_cnn.sweep/summary.html"), shot: "summary", scratch: dir)
        checkLayout(page)
        let fitting = points.filter { $0["fits"] as? Bool == true }.count
        for id in ["pareto-flash", "pareto-ram"] {
            guard let c = chart(page, id) else { continue }
            #expect(c.points.count == fitting, "\(id): \(c.points.count) points for \(fitting) fitting budgets")
            #expect(c.points.allSatisfy { c.box.contains($0.box) })
            // Each point sits at its bytes on the x axis.
            if let plot = c.plot, let axisMax = c.axisMax {
                for p in c.points {
                    let seen = (p.box.x + p.box.w / 2 - plot.x) / plot.w * axisMax
                    #expect(abs(seen - p.x) <= 0.005 * axisMax, "\(id): \(p.label) drawn at \(seen) B, data \(p.x) B")
                }
            }
            #expect(c.texts.contains { $0.cls == "callout" && $0.text.hasPrefix("knee: ") })
        }
        if let a = chart(page, "accuracy") { #expect(a.bars.count == fitting) }
        let haq = try render(out.appendingPathComponent("digits_cnn.haq/report.html"), shot: "report-haq", scratch: dir)
        checkLayout(haq)
        _ = chart(haq, "haq")
    }
}
