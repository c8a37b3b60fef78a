import Foundation

/// The seed inputs of each target: the test fixtures (models, data, budgets).
public struct Corpus: Sendable {
    public var seeds: [FuzzTarget: [[UInt8]]] = [:]

    /// Budgets written here too, so the budget reader has seeds of every shape.
    static let budgetSeeds = [
        #"{"flash": "2MB", "ram": "512kB"}"#,
        #"{"name": "a", "target": "cortex-m7", "flash": 2048000, "ram": 512000, "weightBits": [2, 4, 8], "activationBits": [8], "inputShape": [1, 3, 32, 32], "search": {"method": "haq", "episodes": 10, "seed": 3, "reward": "score", "repair": false, "updatesPerEpisode": 2}, "maxAccuracyDrop": 2.5}"#,
        #"{"budgets": [{"name": "x", "flash": "1MiB", "ram": "1KiB"}, {"name": "y", "flash": "4 kB", "ram": 1200, "data": "d.npz"}]}"#,
        #"{"flash": "1e3B", "ram": "\u0031kB", "search": {"method": "exact"}}"#,
    ]

    /// Seeds larger than this are left out: a mutant of a 2 MB model costs a hundred small ones,
    /// and the small fixtures hold every op and structure.
    public static let maxSeedBytes = 64 << 10

    /// Every file under `folders` (recursively) with a target's extension, up to `maxSeedBytes` each.
    public static func load(_ folders: [URL]) -> Corpus {
        var c = Corpus()
        for t in FuzzTarget.allCases { c.seeds[t] = [] }
        c.seeds[.budget] = budgetSeeds.map { Array($0.utf8) }
        for folder in folders {
            guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey, .fileSizeKey]) else { continue }
            for case let u as URL in e {
                guard let v = try? u.resourceValues(forKeys: [.isRegularFileKey, .fileSizeKey]), v.isRegularFile == true,
                      (v.fileSize ?? 0) <= maxSeedBytes else { continue }
                let ext = u.pathExtension.lowercased()
                guard let t = FuzzTarget.allCases.first(where: { $0.seedExtensions.contains(ext) }),
                      let d = try? Data(contentsOf: u), !d.isEmpty else { continue }
                c.seeds[t, default: []].append([UInt8](d))
            }
        }
        return c
    }
}

/// SplitMix64: a small deterministic generator, so input `i` of seed `s` can be made again
/// (by the parent, to save a crasher a child died on).
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(_ seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Mutations: bit flips, byte and word overwrites with interesting values, truncation,
/// splicing two seeds, duplicated or removed chunks, random insertions.
public enum Mutator {
    static let interestingBytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x40]
    static let interestingWords: [UInt64] = [0, 1, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
                                             0x7fff_ffff_ffff_ffff, 0x8000_0000_0000_0000, 0xffff_ffff_ffff_ffff, 0x7f80_0000, 0xff80_0000,
                                             0x7fc0_0000, 0x3b9a_ca00]

    /// Input `index` of the run with `seed` for `target`.
    public static func input(seed: UInt64, index: Int, target: FuzzTarget, corpus: Corpus) -> [UInt8] {
        var rng = SplitMix(seed &* 0x1000_0000_01B3 ^ UInt64(index) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(target.rawValue.hashValueStable))
        let seeds = corpus.seeds[target] ?? []
        guard !seeds.isEmpty else { return (0..<64).map { _ in UInt8.random(in: 0...255, using: &rng) } }
        var b = seeds[Int.random(in: 0..<seeds.count, using: &rng)]
        let n = Int.random(in: 1...4, using: &rng)
        for _ in 0..<n { mutate(&b, seeds: seeds, rng: &rng) }
        return b
    }

    static func mutate(_ b: inout [UInt8], seeds: [[UInt8]], rng: inout SplitMix) {
        guard !b.isEmpty else { b = [UInt8.random(in: 0...255, using: &rng)]; return }
        // Positions near the start (headers, tables, vtables) are picked more often.
        func pos() -> Int {
            Bool.random(using: &rng) ? Int.random(in: 0..<Swift.min(b.count, 512), using: &rng) : Int.random(in: 0..<b.count, using: &rng)
        }
        switch Int.random(in: 0..<9, using: &rng) {
        case 0:
            let p = pos()
            b[p] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        case 1:
            b[pos()] = interestingBytes.randomElement(using: &rng) ?? 0
        case 2, 3:
            let w = interestingWords.randomElement(using: &rng) ?? 0
            let size = [2, 4, 8].randomElement(using: &rng) ?? 4
            var p = pos()
            if Bool.random(using: &rng) { p &= ~(size - 1) }  // aligned, as FlatBuffers fields are
            for k in 0..<size where p + k < b.count { b[p + k] = UInt8(truncatingIfNeeded: w >> (8 * UInt64(k))) }
        case 4:
            b.removeLast(Int.random(in: 1...b.count, using: &rng))
        case 5:
            let other = seeds.randomElement(using: &rng) ?? b
            let cut = Int.random(in: 0...b.count, using: &rng), from = Int.random(in: 0...other.count, using: &rng)
            b = Array(b[..<cut]) + Array(other[from...])
        case 6:
            let p = pos(), len = Int.random(in: 1...Swift.min(64, b.count - p), using: &rng)
            b.insert(contentsOf: b[p..<p + len], at: Int.random(in: 0...b.count, using: &rng))
        case 7:
            let p = pos(), len = Int.random(in: 1...Swift.min(64, b.count - p), using: &rng)
            b.removeSubrange(p..<p + len)
        default:
            // A protobuf-style varint of an interesting value (lengths, dims, offsets).
            var v = interestingWords.randomElement(using: &rng) ?? 0
            var bytes: [UInt8] = []
            repeat {
                bytes.append(UInt8(v & 0x7f) | (v > 0x7f ? 0x80 : 0))
                v >>= 7
            } while v > 0
            let p = pos()
            b.replaceSubrange(p..<Swift.min(b.count, p + bytes.count), with: bytes)
        }
        if b.count > 8 << 20 { b.removeLast(b.count - (8 << 20)) }
    }
}

extension String {
    /// A hash that is the same in every process (Swift's `hashValue` is seeded per process).
    var hashValueStable: UInt64 { utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 } }
}
