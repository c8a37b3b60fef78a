import Foundation
import Import
import Kernels

/// The cache: content-addressed blobs and one run record per (stage, key).
///
/// Layout under `root`:
///   objects/ab/cdef…          blobs named by their SHA-256, written to tmp/ then renamed in
///   runs/<stage>/<key>.json   which product a stage run with that key produced
///   last/<output>/<stage>.json the key components of the last run, to explain the next one
///   tmp/                      staging for blobs
/// A blob whose content no longer matches its name (a damaged entry) is deleted and treated as
/// a miss, so the stage simply runs again.
public struct ArtifactStore: Sendable {
    public let root: URL

    public init(root: URL) throws {
        self.root = root
        for d in ["objects", "runs", "last", "tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
    }

    func objectURL(_ digest: String) -> URL {
        root.appendingPathComponent("objects").appendingPathComponent(String(digest.prefix(2))).appendingPathComponent(String(digest.dropFirst(2)))
    }

    /// Stores `data`; returns its digest.
    @discardableResult
    public func put(_ data: Data) throws -> String {
        let digest = SHA256.hex(data)
        let url = objectURL(digest)
        // An existing blob is kept only if it is intact (same size and content).
        if let existing = try? Data(contentsOf: url), existing.count == data.count, existing == data { return digest }
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = scratch("blob-\(digest.prefix(16))")
        try data.write(to: tmp)
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw PublishError(path: url.path, errno: errno)
        }
        return digest
    }

    /// A fresh path under `tmp/` named `<pid>-<tag>-<random>`, so leftovers of a killed process
    /// can be told apart from those of a running one.
    public func scratch(_ tag: String) -> URL {
        root.appendingPathComponent("tmp").appendingPathComponent("\(getpid())-\(tag)-\(UInt32.random(in: 0...UInt32.max))")
    }

    /// Removes what processes that no longer run left under `tmp/`.
    public func removeLeftovers() {
        let tmp = root.appendingPathComponent("tmp")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] {
            guard let pid = Int32(name.split(separator: "-").first ?? ""), !processIsAlive(pid) else { continue }
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(name))
        }
    }

    /// The blob, or nil when missing or damaged (a damaged blob is removed).
    public func get(_ digest: String) -> Data? {
        let url = objectURL(digest)
        guard let d = try? Data(contentsOf: url) else { return nil }
        guard SHA256.hex(d) == digest else {
            try? FileManager.default.removeItem(at: url)
            return nil
        }
        return d
    }

    func recordURL(stage: String, key: String) -> URL {
        root.appendingPathComponent("runs").appendingPathComponent(stage).appendingPathComponent(key + ".json")
    }

    public func record(stage: String, key: String) -> RunRecord? {
        guard let d = try? Data(contentsOf: recordURL(stage: stage, key: key)) else { return nil }
        return try? JSONDecoder().decode(RunRecord.self, from: d)
    }

    public func save(_ r: RunRecord) throws {
        let url = recordURL(stage: r.stage, key: r.key)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try writeAtomically(try JSONEncoder().encode(r), to: url)
    }

    func lastURL(output: String, stage: String) -> URL {
        root.appendingPathComponent("last").appendingPathComponent(output).appendingPathComponent(stage + ".json")
    }

    public func lastComponents(output: String, stage: String) -> [String: String]? {
        guard let d = try? Data(contentsOf: lastURL(output: output, stage: stage)) else { return nil }
        return try? JSONDecoder().decode([String: String].self, from: d)
    }

    public func saveLast(output: String, stage: String, components: [String: String]) {
        let url = lastURL(output: output, stage: stage)
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? writeAtomically(try JSONEncoder().encode(components), to: url)
    }

    /// Removes run records older than `maxAge` and every blob no remaining record refers to.
    public func collectGarbage(maxAge: TimeInterval) throws -> (records: Int, blobs: Int) {
        let fm = FileManager.default
        var keep = Set<String>()
        var removedRecords = 0
        let runs = root.appendingPathComponent("runs")
        for stage in (try? fm.contentsOfDirectory(atPath: runs.path)) ?? [] {
            let dir = runs.appendingPathComponent(stage)
            for f in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] {
                let u = dir.appendingPathComponent(f)
                let age = Date().timeIntervalSince((try? fm.attributesOfItem(atPath: u.path)[.modificationDate] as? Date) ?? .distantPast)
                if age > maxAge {
                    try? fm.removeItem(at: u)
                    removedRecords += 1
                } else if let d = try? Data(contentsOf: u), let r = try? JSONDecoder().decode(RunRecord.self, from: d) {
                    keep.insert(r.product)
                    if let p = get(r.product), let prod = try? JSONDecoder().decode(StageProduct.self, from: p) {
                        keep.formUnion(prod.files.values)
                        keep.formUnion(prod.internalFiles.values)
                    }
                }
            }
        }
        var removedBlobs = 0
        let objects = root.appendingPathComponent("objects")
        for prefix in (try? fm.contentsOfDirectory(atPath: objects.path)) ?? [] {
            for rest in (try? fm.contentsOfDirectory(atPath: objects.appendingPathComponent(prefix).path)) ?? [] where !keep.contains(prefix + rest) {
                try? fm.removeItem(at: objects.appendingPathComponent(prefix).appendingPathComponent(rest))
                removedBlobs += 1
            }
        }
        return (removedRecords, removedBlobs)
    }
}

/// Which product a stage run produced, and from what.
public struct RunRecord: Codable, Sendable {
    public var stage: String
    public var key: String
    public var components: [String: String]
    public var product: String
    public var createdAt: Date

    public init(stage: String, key: String, components: [String: String], product: String, createdAt: Date) {
        self.stage = stage
        self.key = key
        self.components = components
        self.product = product
        self.createdAt = createdAt
    }
}

/// What one stage produced: files for the output folder, files only the cache keeps, its part
/// of report.json and its report.md section.
public struct StageProduct: Codable, Sendable {
    /// Published name → blob digest.
    public var files: [String: String] = [:]
    /// Cache-only name → blob digest (inputs of later stages that are not published).
    public var internalFiles: [String: String] = [:]
    /// A RunReport with only this stage's fields set.
    public var report: Data = Data()
    public var markdown: String = ""
}

/// Writes `data` to a temporary file beside `url`, then renames it over `url`.
func writeAtomically(_ data: Data, to url: URL) throws {
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try data.write(to: tmp)
    guard rename(tmp.path, url.path) == 0 else {
        try? FileManager.default.removeItem(at: tmp)
        throw PublishError(path: url.path, errno: errno)
    }
}

/// SHA-256 of a canonical JSON (sorted keys) of the key components.
public func cacheKey(_ components: [String: String]) -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return SHA256.hex((try? e.encode(components)) ?? Data())
}

/// SHA-256 of a file's content.
public func fileDigest(_ url: URL) throws -> String {
    // Only regular files: a FIFO would block the read forever, /dev/zero would never end.
    if let problem = RegularFile.problem(url) { throw ImportError(file: url.lastPathComponent, problem) }
    guard let fh = FileHandle(forReadingAtPath: url.path) else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path]) }
    defer { try? fh.close() }
    var h = SHA256()
    while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty { chunk.withUnsafeBytes { h.update($0) } }
    return SHA256.hexString(h.finalize())
}
