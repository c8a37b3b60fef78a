import Foundation
import Import
import Quantize
import Search

/// One budget: the memory a model must fit, the bits allowed, and how to search.
public struct Budget: Sendable, Equatable, Codable {
    public struct SearchOptions: Sendable, Equatable, Codable {
        public var method = "exact"
        public var episodes = 600
        public var seed: UInt64 = 1
        public var reward = "score"
        public var repair = false
        /// Gradient steps after each episode; nil = one per stored transition, as HAQ does.
        public var updatesPerEpisode: Int? = nil
    }

    public var name: String?
    public var target = "cortex-m7"
    public var flash: Int
    public var ram: Int
    public var weightBits = [2, 4, 8]
    public var activationBits = [2, 4, 8]
    public var inputShape: [Int]?
    public var search = SearchOptions()
    /// How weights are rounded onto their grid: nearest, or Hessian-aware (GPTQ) on calibration data.
    public var rounding = RoundingMethod.nearest
    /// Resolved paths (inside the budget file's folder).
    public var data: String?
    public var validationData: String?
    public var maxAccuracyDrop: Double?
    /// The file it came from (for messages).
    public var file: String

    public var searchBudget: SearchBudget { SearchBudget(flash: flash, ram: ram, weightBits: weightBits, activationBits: activationBits) }
}

/// A mistake in a budget file, naming the file and the field.
public struct BudgetError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String?
    public var message: String
    public var description: String { field.map { "\(file): field '\($0)': \(message)" } ?? "\(file): \(message)" }
}

public enum BudgetFile {
    static let keys: Set<String> = ["name", "target", "flash", "ram", "weightBits", "activationBits", "inputShape", "search", "data",
                                    "validationData", "maxAccuracyDrop", "sweep", "rounding"]
    static let searchKeys: Set<String> = ["method", "episodes", "seed", "reward", "repair", "updatesPerEpisode"]
    public static let methods = ["uniform", "rule", "haq", "exact"]

    /// `NAME.budget.json` beside the model, else `budget.json` in its folder, else the default.
    public static func find(model: URL, resources: PipelineResources) -> URL? {
        let dir = model.deletingLastPathComponent()
        let stem = model.deletingPathExtension().lastPathComponent
        for candidate in [dir.appendingPathComponent("\(stem).budget.json"), dir.appendingPathComponent("budget.json")]
        where FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        return resources.defaultBudget
    }

    /// Every budget in the file (one object, or `{"budgets": [...]}`).
    public static func load(_ url: URL, resources: PipelineResources?) throws -> [Budget] {
        let file = url.lastPathComponent
        func fail(_ field: String?, _ m: String) -> BudgetError { BudgetError(file: file, field: field, message: m) }
        let data: Data
        do { data = Data(try RegularFile.read(url, maxBytes: 1 << 20)) } catch { throw fail(nil, "cannot read the file: \(error)") }
        return try parse(data: data, file: file, folder: url.deletingLastPathComponent(), resources: resources)
    }

    /// Every budget in a budget file's bytes (the fuzzer's entry point too). Duplicate keys and
    /// values of the wrong JSON type (`"flash": true`) are errors naming the field.
    public static func parse(data: Data, file: String, folder: URL, resources: PipelineResources?) throws -> [Budget] {
        func fail(_ field: String?, _ m: String) -> BudgetError { BudgetError(file: file, field: field, message: m) }
        let top: Any
        do { top = try StrictJSON.parse(data) } catch {
            throw fail(error.field, error.field == nil ? "not valid JSON: \(error.description)" : error.description)
        }
        guard let obj = top as? [String: Any] else { throw fail(nil, "must be a JSON object") }
        let items: [[String: Any]]
        if let list = obj["budgets"] {
            guard obj.count == 1 else { throw fail(obj.keys.first { $0 != "budgets" }, "a file with 'budgets' may hold nothing else") }
            guard let l = list as? [[String: Any]], !l.isEmpty else { throw fail("budgets", "must be a non-empty list of budget objects") }
            items = l
        } else {
            items = [obj]
        }
        var out: [Budget] = []
        for (i, var item) in items.enumerated() {
            let prefix = items.count > 1 ? "budgets[\(i)]." : ""
            // A swept size need not be given beside the sweep.
            if let sweep = item["sweep"] {
                _ = try sweepSizes(sweep, file: file, prefix: prefix)
                for key in ["flash", "ram"] where item[key] == nil { item[key] = ((sweep as? [String: Any])?[key] as? [Any])?.first }
            }
            let b = try parse(item, file: file, prefix: prefix, folder: folder, resources: resources)
            if let sweep = item["sweep"] { out += try expand(sweep: sweep, of: b, prefix: prefix) } else { out.append(b) }
        }
        if out.count > 1 {
            let names = out.map { $0.name ?? "" }
            if names.contains("") { throw fail("budgets", "every budget needs a 'name' when a file holds several") }
            if Set(names).count != names.count { throw fail("budgets", "budget names must be different") }
        }
        return out
    }

    static func parse(_ o: [String: Any], file: String, prefix: String, folder: URL, resources: PipelineResources?) throws -> Budget {
        func fail(_ field: String, _ m: String) -> BudgetError { BudgetError(file: file, field: prefix + field, message: m) }
        if let k = o.keys.sorted().first(where: { !keys.contains($0) }) {
            throw fail(k, "unknown field; known fields: \(keys.sorted().joined(separator: ", "))")
        }
        guard let flashV = o["flash"] else { throw fail("flash", "required (bytes, or a size such as \"2MB\")") }
        guard let ramV = o["ram"] else { throw fail("ram", "required (bytes, or a size such as \"512kB\")") }
        var b = Budget(flash: try size(flashV) { fail("flash", $0) }, ram: try size(ramV) { fail("ram", $0) }, file: file)
        if let n = o["name"] {
            guard let s = n as? String, !s.isEmpty else { throw fail("name", "must be a non-empty string") }
            b.name = s
        }
        if let t = o["target"] {
            guard let s = t as? String else { throw fail("target", "must be a string") }
            if let resources, !resources.targets.contains(s) {
                throw fail("target", "unknown target '\(s)'; known: \(resources.targets.sorted().joined(separator: ", "))")
            }
            b.target = s
        }
        for (key, path) in [("weightBits", \Budget.weightBits), ("activationBits", \Budget.activationBits)] {
            guard let v = o[key] else { continue }
            guard let list = v as? [Int], !list.isEmpty, list.allSatisfy({ [2, 4, 8].contains($0) }) else {
                throw fail(key, "must be a non-empty list drawn from 2, 4, 8")
            }
            b[keyPath: path] = Array(Set(list)).sorted()
        }
        if let v = o["inputShape"] {
            guard let s = v as? [Int], !s.isEmpty, s.allSatisfy({ $0 > 0 && $0 < 1 << 16 }) else { throw fail("inputShape", "must be a list of positive sizes, e.g. [1, 3, 224, 224]") }
            b.inputShape = s
        }
        if let v = o["search"] {
            guard let s = v as? [String: Any] else { throw fail("search", "must be an object") }
            if let k = s.keys.sorted().first(where: { !searchKeys.contains($0) }) {
                throw fail("search.\(k)", "unknown field; known fields: \(searchKeys.sorted().joined(separator: ", "))")
            }
            if let m = s["method"] {
                guard let m = m as? String, methods.contains(m) else { throw fail("search.method", "must be one of \(methods.joined(separator: ", "))") }
                b.search.method = m
            }
            if let e = s["episodes"] {
                guard let e = e as? Int, (1...100_000).contains(e) else { throw fail("search.episodes", "must be a whole number from 1 to 100000") }
                b.search.episodes = e
            }
            if let e = s["seed"] {
                guard let e = e as? Int, e >= 0 else { throw fail("search.seed", "must be a non-negative whole number") }
                b.search.seed = UInt64(e)
            }
            if let r = s["reward"] {
                guard let r = r as? String, ["score", "measured"].contains(r) else { throw fail("search.reward", "must be 'score' or 'measured'") }
                b.search.reward = r
            }
            if let u = s["updatesPerEpisode"] {
                guard let u = u as? Int, (1...100_000).contains(u) else { throw fail("search.updatesPerEpisode", "must be a whole number from 1 to 100000") }
                b.search.updatesPerEpisode = u
            }
            if let r = s["repair"] {
                guard let r = r as? Bool else { throw fail("search.repair", "must be true or false") }
                b.search.repair = r
            }
        }
        for (key, path) in [("data", \Budget.data), ("validationData", \Budget.validationData)] {
            guard let v = o[key] else { continue }
            guard let s = v as? String, !s.isEmpty else { throw fail(key, "must be a file name") }
            do {
                b[keyPath: path] = try confinedPath(s, inside: folder, what: "\(file): field '\(prefix + key)'").path
            } catch let e as ImportMessage {
                throw BudgetError(file: file, field: prefix + key, message: e.description.components(separatedBy: "': ").dropFirst().joined(separator: "': "))
            }
            guard FileManager.default.fileExists(atPath: b[keyPath: path]!) else { throw fail(key, "file '\(s)' does not exist beside the budget") }
        }
        if let v = o["rounding"] {
            guard let r = v as? String, let m = RoundingMethod(rawValue: r) else {
                throw fail("rounding", "must be one of \(RoundingMethod.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
            }
            b.rounding = m
        }
        if let v = o["maxAccuracyDrop"] {
            guard let d = (v as? Double) ?? (v as? Int).map(Double.init), d >= 0, d <= 100 else { throw fail("maxAccuracyDrop", "must be a number of percentage points from 0 to 100") }
            b.maxAccuracyDrop = d
        }
        return b
    }

    /// Bytes from a number or a string with a unit: B, kB/KB (1000), KiB (1024), MB (10^6),
    /// MiB (2^20), GB, GiB.
    static func size(_ v: Any, _ fail: (String) -> BudgetError) throws -> Int {
        if let n = v as? Int {
            guard n > 0 else { throw fail("must be positive") }
            return n
        }
        guard let s = v as? String else { throw fail("must be a byte count or a string such as \"512kB\"") }
        let t = s.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("kB", 1000), ("KB", 1000), ("MB", 1e6), ("GB", 1e9), ("B", 1)]
        for (u, m) in units where t.hasSuffix(u) {
            let num = t.dropLast(u.count).trimmingCharacters(in: .whitespaces)
            guard let x = Double(num), x > 0, x * m < 1e12 else { throw fail("'\(s)' is not a size") }
            return Int((x * m).rounded())
        }
        guard let n = Int(t), n > 0 else { throw fail("'\(s)' is not a size (use e.g. 2048000, \"2MB\", \"512kB\", \"2MiB\")") }
        return n
    }
}

/// Where the pipeline's files (default budget, targets, C runtime) are.
public struct PipelineResources: Sendable {
    public var directory: URL

    /// `TINYMPQ_PIPELINE`, else `./pipeline`, else a `pipeline` folder above the executable.
    public static func locate() -> PipelineResources? {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["TINYMPQ_PIPELINE"] { candidates.append(URL(fileURLWithPath: env)) }
        candidates.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("pipeline"))
        var exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(exe.appendingPathComponent("pipeline"))
            exe = exe.deletingLastPathComponent()
        }
        for c in candidates where FileManager.default.fileExists(atPath: c.appendingPathComponent("targets").path) {
            return PipelineResources(directory: c)
        }
        return nil
    }

    public var defaultBudget: URL? {
        let u = directory.appendingPathComponent("budget.default.json")
        return FileManager.default.fileExists(atPath: u.path) ? u : nil
    }

    public var targets: Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("targets").path)) ?? []
        return Set(files.filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
    }
}
