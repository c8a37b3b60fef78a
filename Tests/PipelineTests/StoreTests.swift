import Dispatch
import Foundation
@testable import Pipeline
import TestSupport
import Testing

/// The cache store and the publishing folder: damage, leftovers of killed processes, several
/// writers at once.
@Suite struct StoreTests {
    /// A process id that no process has (above Linux's largest pid_max).
    let deadPID: Int32 = 2_147_483_000

    @Test func damagedBlobIsAMissAndRemoved() throws {
        let dir = Fixtures.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try ArtifactStore(root: dir)
        let d = try store.put(Data("hello".utf8))
        #expect(try store.put(Data("hello".utf8)) == d)
        #expect(store.get(d) == Data("hello".utf8))
        try Data("hellO".utf8).write(to: store.objectURL(d))
        #expect(store.get(d) == nil)
        #expect(!FileManager.default.fileExists(atPath: store.objectURL(d).path))
    }

    @Test func leftoversOfDeadProcessesAreRemovedOthersKept() throws {
        let dir = Fixtures.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for name in [".m.staging-\(deadPID)-17", ".m.staging-\(getpid())-18", "m"] {
            try fm.createDirectory(at: dir.appendingPathComponent(name), withIntermediateDirectories: true)
        }
        #expect(StagedFolder.removeLeftovers(in: dir) == [".m.staging-\(deadPID)-17"])
        #expect(try fm.contentsOfDirectory(atPath: dir.path).sorted() == [".m.staging-\(getpid())-18", "m"])
        let store = try ArtifactStore(root: dir.appendingPathComponent("cache"))
        let tmp = store.root.appendingPathComponent("tmp")
        try Data().write(to: tmp.appendingPathComponent("\(deadPID)-blob-1"))
        try Data().write(to: tmp.appendingPathComponent("\(getpid())-blob-2"))
        store.removeLeftovers()
        #expect(try fm.contentsOfDirectory(atPath: tmp.path) == ["\(getpid())-blob-2"])
    }

    /// Several processes put the same and their own blobs and records into one cache at once;
    /// every record any of them sees is whole and its product intact.
    @Test func severalProcessesWriteOneCache() throws {
        let dir = Fixtures.temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: dir) }
        let exe = Fixtures.packageRoot.appendingPathComponent(".build/debug/StoreStress")
        let writers = 4
        let results = Box<(Int32, String)>()
        let group = DispatchGroup()
        for id in 0..<writers {
            DispatchQueue.global().async(group: group) {
                do {
                    let r = try runProcess(exe, [dir.path, String(id), "40"])
                    results.append((r.status, r.stdout + r.stderr))
                } catch {
                    results.append((-1, "\(error)"))
                }
            }
        }
        group.wait()
        #expect(results.items.count == writers)
        for (status, output) in results.items { #expect(status == 0, "\(output)") }
        let store = try ArtifactStore(root: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("runs/stress").path)
        #expect(names.count == 40 + writers * 40)
        for n in names {
            let rec = store.record(stage: "stress", key: String(n.dropLast(5)))
            #expect(rec.flatMap { store.get($0.product) } != nil, "\(n)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.root.appendingPathComponent("tmp").path).isEmpty)
    }
}

final class Box<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [T] = []
    func append(_ v: T) { lock.withLock { values.append(v) } }
    var items: [T] { lock.withLock { values } }
}
