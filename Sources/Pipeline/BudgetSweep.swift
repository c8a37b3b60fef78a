import Foundation

extension BudgetFile {
    /// `"sweep": {"flash": [...], "ram": [...]}` → one budget per point of the grid (every FLASH
    /// size with every RAM size; a list left out keeps the budget's own value), in file order,
    /// FLASH outermost. Each point is named `NAME-flashF-ramR` (only the swept sizes, as written
    /// in the file), so each gets its own output folder; the model gets one summary
    /// (`output/MODEL.sweep/`).
    static func expand(sweep v: Any, of base: Budget, prefix: String) throws -> [Budget] {
        let (flash, ram) = try sweepSizes(v, file: base.file, prefix: prefix)
        var out: [Budget] = []
        for f in flash ?? [(label: "", bytes: base.flash)] {
            for r in ram ?? [(label: "", bytes: base.ram)] {
                var b = base
                b.flash = f.bytes
                b.ram = r.bytes
                let parts = [base.name, flash == nil ? nil : "flash" + f.label, ram == nil ? nil : "ram" + r.label].compactMap { $0 }
                b.name = parts.joined(separator: "-")
                out.append(b)
            }
        }
        guard out.count <= 256 else { throw BudgetError(file: base.file, field: prefix + "sweep", message: "has \(out.count) points; at most 256") }
        return out
    }

    /// The swept FLASH and RAM sizes (as written, and in bytes), checked.
    static func sweepSizes(_ v: Any, file: String, prefix: String) throws -> (flash: [(label: String, bytes: Int)]?, ram: [(label: String, bytes: Int)]?) {
        func fail(_ field: String, _ m: String) -> BudgetError { BudgetError(file: file, field: prefix + "sweep" + field, message: m) }
        guard let o = v as? [String: Any] else { throw fail("", "must be an object such as {\"flash\": [\"2MB\", \"3MB\"], \"ram\": [\"512kB\"]}") }
        if let k = o.keys.sorted().first(where: { !["flash", "ram"].contains($0) }) { throw fail(".\(k)", "unknown field; known fields: flash, ram") }
        guard !o.isEmpty else { throw fail("", "needs a 'flash' or a 'ram' list") }
        func sizes(_ key: String) throws -> [(label: String, bytes: Int)]? {
            guard let raw = o[key] else { return nil }
            guard let list = raw as? [Any], !list.isEmpty, list.count <= 64 else { throw fail(".\(key)", "must be a list of 1 to 64 sizes") }
            let parsed = try list.enumerated().map { i, item in
                (label: (item as? String).map { $0.replacingOccurrences(of: " ", with: "") } ?? "\(item)",
                 bytes: try size(item) { fail(".\(key)[\(i)]", $0) })
            }
            if Set(parsed.map(\.bytes)).count != parsed.count { throw fail(".\(key)", "lists the same size twice") }
            return parsed
        }
        return (try sizes("flash"), try sizes("ram"))
    }
}
