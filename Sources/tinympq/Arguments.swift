import Pipeline

/// A small argument parser: positionals, `--flag`, `--option value` and `--option=value`.
struct Arguments {
    var positionals: [String] = []
    var options: [String: String] = [:]
    var flags: Set<String> = []

    /// - Parameters:
    ///   - valued: options that take a value; anything else starting with `--` is a flag.
    ///   - allowedFlags: flags the command knows; others are a usage error.
    init(_ args: [String], valued: Set<String>, allowedFlags: Set<String>) throws {
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--" {
                positionals += args[(i + 1)...]
                break
            }
            if a.hasPrefix("--") || (a.hasPrefix("-") && a.count == 2) {
                var key = String(a.drop { $0 == "-" })
                var value: String? = nil
                if let eq = key.firstIndex(of: "=") {
                    value = String(key[key.index(after: eq)...])
                    key = String(key[..<eq])
                }
                if key == "h" { key = "help" }
                if valued.contains(key) {
                    if value == nil {
                        i += 1
                        guard i < args.count else { throw UsageError("option --\(key) needs a value") }
                        value = args[i]
                    }
                    options[key] = value
                } else if allowedFlags.contains(key) || key == "help" {
                    guard value == nil else { throw UsageError("flag --\(key) takes no value") }
                    flags.insert(key)
                } else {
                    throw UsageError("unknown option \(a)")
                }
            } else {
                positionals.append(a)
            }
            i += 1
        }
    }

    func int(_ key: String, default def: Int, range: ClosedRange<Int>) throws -> Int {
        guard let v = options[key] else { return def }
        guard let n = Int(v), range.contains(n) else { throw UsageError("--\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound), got '\(v)'") }
        return n
    }

    /// "1,3,224,224" → [1, 3, 224, 224].
    func shape(_ key: String) throws -> [Int]? {
        guard let v = options[key] else { return nil }
        let parts = v.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else { throw UsageError("--\(key) must look like 1,3,224,224, got '\(v)'") }
        return parts.map { $0! }
    }
}
