import Foundation
import Pipeline

// One of several processes that write to and read one cache at the same time (started by
// PipelineTests): each round puts a blob every process also puts, one of its own, and a run
// record for each; then every record it can see must decode and its product must be intact.
// Prints each violation and exits 1 if there was any.
let args = CommandLine.arguments
guard args.count == 4, let id = Int(args[2]), let rounds = Int(args[3]) else {
    FileHandle.standardError.write(Data("usage: StoreStress CACHE_DIR WRITER_ID ROUNDS\n".utf8))
    exit(2)
}
var problems: [String] = []
do {
    let store = try ArtifactStore(root: URL(fileURLWithPath: args[1]))
    let runs = store.root.appendingPathComponent("runs/stress")
    for round in 0..<rounds {
        let shared = Data(String(repeating: "shared blob of round \(round); ", count: 400).utf8)
        let own = Data(String(repeating: "writer \(id), round \(round); ", count: 100).utf8)
        let a = try store.put(shared), b = try store.put(own)
        try store.save(RunRecord(stage: "stress", key: "shared-\(round)", components: ["round": String(round)], product: a, createdAt: Date()))
        try store.save(RunRecord(stage: "stress", key: "writer\(id)-\(round)", components: ["writer": String(id)], product: b, createdAt: Date()))
        for name in (try? FileManager.default.contentsOfDirectory(atPath: runs.path)) ?? [] where !name.hasPrefix(".") && name.hasSuffix(".json") {
            let key = String(name.dropLast(5))
            guard let rec = store.record(stage: "stress", key: key) else {
                problems.append("record \(key) is present but does not decode")
                continue
            }
            guard let blob = store.get(rec.product) else {
                problems.append("record \(key): product \(rec.product.prefix(12)) missing or damaged")
                continue
            }
            if key.hasPrefix("shared-"), blob != Data(String(repeating: "shared blob of round \(key.dropFirst(7)); ", count: 400).utf8) {
                problems.append("record \(key): wrong content")
            }
        }
    }
} catch {
    problems.append("error: \(error)")
}
for p in problems { print(p) }
exit(problems.isEmpty ? 0 : 1)
