import Foundation
import Kernels

/// `output/MODEL.sweep/summary.json`: one row per budget of a model (a sweep or a list of
/// budgets), read back from each budget's published `report.json` (so the summary and the
/// reports cannot disagree), the Pareto fronts of accuracy against FLASH and against RAM, and
/// the knee of each front.
///
/// Accuracy is the quantized top-1 accuracy where the data has labels, else the top-1
/// agreement with the float model (`accuracyMeasure` says which). A point is on a front when
/// no other point that fits has at least its accuracy with no more bytes (and is better in
/// one). The knee is the front point farthest above the straight line from the cheapest to
/// the most accurate front point, with bytes and accuracy each scaled to 0...1 over the front
/// (Kneedle's difference curve); ties go to the cheaper point.
public struct SweepSummary: Codable, Sendable {
    public struct Point: Codable, Sendable {
        /// The output folder (beside `MODEL.sweep/`).
        public var folder: String
        public var budget: String
        public var budgetFlashBytes: Int
        public var budgetRamBytes: Int
        /// `ok`, `failed`, or `missing` (no report.json yet, e.g. another shard's point).
        public var status: String
        public var flashBytes: Int?
        public var ramBytes: Int?
        public var fits: Bool?
        public var accuracyFloat: Double?
        public var accuracyQuantized: Double?
        public var top1Agreement: Double?
        public var meanKL: Double?
        /// QEMU instruction count per inference, per target.
        public var instructionsPerInference: [String: Int]?
        public var error: String?

        /// The figure the fronts use (see `accuracyMeasure`).
        func accuracy(_ measure: String) -> Double? { measure == "accuracy" ? accuracyQuantized : top1Agreement }
    }

    public var schema = 1
    public var tool = ToolInfo.version
    public var model: String
    /// `accuracy` (labelled data) or `top1Agreement`.
    public var accuracyMeasure: String
    public var points: [Point]
    /// Folders on the front of accuracy against FLASH, and against RAM, cheapest first.
    public var paretoFlash: [String]
    public var paretoRam: [String]
    public var kneeFlash: String?
    public var kneeRam: String?

    /// Builds the summary from the published reports of `folders` (with each folder's budget,
    /// for points not published yet).
    public init(model: String, points budgets: [(folder: String, budget: Budget)], outputDirectory: URL) {
        self.model = model
        points = budgets.map { folder, b in
            var p = Point(folder: folder, budget: b.name ?? "default", budgetFlashBytes: b.flash, budgetRamBytes: b.ram, status: "missing")
            let url = outputDirectory.appendingPathComponent(folder).appendingPathComponent("report.json")
            guard let data = try? Data(contentsOf: url), let r = try? JSONDecoder().decode(RunReport.self, from: data) else { return p }
            p.status = r.error == nil ? "ok" : "failed"
            p.error = r.error
            if let f = r.footprint {
                p.flashBytes = f.flashBytes
                p.ramBytes = f.arenaBytes
                p.fits = f.flashBytes <= b.flash && f.arenaBytes <= b.ram
            }
            if let v = r.validation {
                p.accuracyFloat = v.accuracyFloat
                p.accuracyQuantized = v.accuracyQuantized
                p.top1Agreement = v.top1Agreement
                p.meanKL = v.meanKL
            }
            let counts = (r.codegen?.targets ?? [:]).compactMapValues { $0["instructionsPerInference"].flatMap(Int.init) }
            p.instructionsPerInference = counts.isEmpty ? nil : counts
            return p
        }
        let labelled = points.contains { $0.accuracyQuantized != nil }
        accuracyMeasure = labelled ? "accuracy" : "top1Agreement"
        (paretoFlash, kneeFlash) = Self.front(points, measure: accuracyMeasure, bytes: \.flashBytes)
        (paretoRam, kneeRam) = Self.front(points, measure: accuracyMeasure, bytes: \.ramBytes)
    }

    /// The front (folders, cheapest first) and its knee.
    static func front(_ points: [Point], measure: String, bytes: KeyPath<Point, Int?>) -> ([String], String?) {
        let candidates = points.compactMap { p -> (String, Double, Double)? in
            guard p.fits == true, let x = p[keyPath: bytes], let y = p.accuracy(measure) else { return nil }
            return (p.folder, Double(x), y)
        }
        let front = candidates.filter { c in
            !candidates.contains { o in o.1 <= c.1 && o.2 >= c.2 && (o.1 < c.1 || o.2 > c.2) }
        }.sorted { ($0.1, -$0.2, $0.0) < ($1.1, -$1.2, $1.0) }
        guard let first = front.first, let last = front.last else { return ([], nil) }
        let dx = last.1 - first.1, dy = last.2 - first.2
        var knee = first, best = -Double.infinity
        for c in front {
            let gain = (dy > 0 ? (c.2 - first.2) / dy : 0) - (dx > 0 ? (c.1 - first.1) / dx : 0)
            if gain > best + 1e-12 { best = gain; knee = c }
        }
        return (front.map(\.0), knee.0)
    }

    /// Writes `MODEL.sweep/summary.json` and `summary.html` (one atomic swap), holding a lock so
    /// that runs finishing at once (shards) each read every report published before they write.
    public static func publish(model: String, points: [(folder: String, budget: Budget)], outputDirectory: URL) throws -> URL {
        let target = outputDirectory.appendingPathComponent(model + ".sweep")
        guard let lock = try PipelineLock(directory: outputDirectory.appendingPathComponent(".\(model).sweep.lock"), wait: true) else { return target }
        defer { withExtendedLifetime(lock) {} }
        let summary = SweepSummary(model: model, points: points, outputDirectory: outputDirectory)
        let staged = try StagedFolder(target: target)
        do {
            try staged.write("summary.json", try jsonData(summary))
            try staged.write("summary.html", SweepSummaryHTML.render(summary))
            try staged.publish()
        } catch {
            staged.discard()
            throw error
        }
        return target
    }
}
