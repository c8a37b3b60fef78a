import Dispatch
import Foundation
import Fuzzing

// tinympq-fuzz: the fuzzing harness of the readers (ONNX, TFLite, NumPy, budget) and the
// parse → quantize path.
//
//   tinympq-fuzz run [--seconds N] [--crashes DIR] [--corpus DIR]... [--batch N]
//   tinympq-fuzz batch --target T --seed S --from A --to B [--until EPOCH] [--corpus DIR]...
//   tinympq-fuzz replay FILE...
//
// `run` starts `batch` children one after another (a trap kills only the child); when a child
// dies by a signal or hangs, its range is bisected with more children down to the one input that
// kills it, which is saved in the crashes folder (`TARGET-SEED-INDEX.EXT`), and the run goes on.
// Each input is made again from (target, seed, index) by the deterministic mutator, so the
// parent never needs the child's memory.

func fail(_ m: String) -> Never {
    FileHandle.standardError.write(Data("tinympq-fuzz: \(m)\n".utf8))
    exit(2)
}

func option(_ args: [String], _ name: String) -> String? {
    guard let i = args.firstIndex(of: "--" + name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func options(_ args: [String], _ name: String) -> [String] {
    args.indices.filter { args[$0] == "--" + name && $0 + 1 < args.count }.map { args[$0 + 1] }
}

let args = Array(CommandLine.arguments.dropFirst())
let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
let corpusDirs = options(args, "corpus").map { URL(fileURLWithPath: $0) }
let corpusFolders = corpusDirs.isEmpty ? ["Tests/Fixtures", "pipeline", "watched"].map { root.appendingPathComponent($0) } : corpusDirs

switch args.first {
case "batch":
    guard let t = option(args, "target").flatMap(FuzzTarget.init(rawValue:)), let seed = option(args, "seed").flatMap(UInt64.init),
          let from = option(args, "from").flatMap(Int.init), let to = option(args, "to").flatMap(Int.init) else {
        fail("batch needs --target, --seed, --from, --to")
    }
    let until = option(args, "until").flatMap(Double.init) ?? .infinity
    let corpus = Corpus.load(corpusFolders)
    var done = 0, accepted = 0
    for i in from..<to {
        if i % 64 == 0 && Date().timeIntervalSince1970 > until { break }
        if t.run(Mutator.input(seed: seed, index: i, target: t, corpus: corpus)) { accepted += 1 }
        done += 1
    }
    print("done \(done) accepted \(accepted)")
    exit(0)

case "replay":
    for path in args.dropFirst() {
        let u = URL(fileURLWithPath: path)
        guard let t = FuzzTarget.allCases.first(where: { $0.seedExtensions.contains(u.pathExtension.lowercased()) }) else {
            fail("\(path): unknown extension")
        }
        guard let d = try? Data(contentsOf: u) else { fail("cannot read \(path)") }
        print("\(path): \(t.run([UInt8](d)) ? "accepted" : "refused")")
    }
    exit(0)

case "run":
    let seconds = option(args, "seconds").flatMap(Double.init) ?? 600
    let crashes = URL(fileURLWithPath: option(args, "crashes") ?? "fuzz-crashes")
    var batch = option(args, "batch").flatMap(Int.init) ?? 500
    let exe = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
    let corpus = Corpus.load(corpusFolders)
    for t in FuzzTarget.allCases where (corpus.seeds[t] ?? []).isEmpty { print("warning: no seeds for \(t.rawValue)") }
    let start = Date()
    let deadline = start.addingTimeInterval(seconds)
    var seed = UInt64(start.timeIntervalSince1970 * 1000)
    var total: [FuzzTarget: Int] = [:]
    var found: [String] = []

    enum ChildEnd { case finished(Int), died(String) }

    /// One child over inputs `range` of (target, seed).
    func child(_ t: FuzzTarget, _ seed: UInt64, _ range: Range<Int>, until: Double?) -> ChildEnd {
        let p = Process()
        p.executableURL = exe
        var a = ["batch", "--target", t.rawValue, "--seed", String(seed), "--from", String(range.lowerBound), "--to", String(range.upperBound)]
        if let until { a += ["--until", String(until)] }
        for c in corpusFolders { a += ["--corpus", c.path] }
        p.arguments = a
        var env = ProcessInfo.processInfo.environment
        env["SWIFT_BACKTRACE"] = "enable=no"
        p.environment = env
        let outFile = FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-fuzz-\(getpid()).out")
        FileManager.default.createFile(atPath: outFile.path, contents: nil)
        guard let fh = try? FileHandle(forWritingTo: outFile) else { fail("cannot write \(outFile.path)") }
        p.standardOutput = fh
        p.standardError = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        do { try p.run() } catch { fail("cannot start \(exe.path): \(error)") }
        // A hang: no batch may take more than two minutes (a child stops itself at `until`).
        if done.wait(timeout: .now() + 120) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            done.wait()
            try? fh.close()
            return .died("hang (no result after 120 s)")
        }
        try? fh.close()
        let out = (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: outFile)
        if p.terminationReason == .uncaughtSignal { return .died("signal \(p.terminationStatus)") }
        guard p.terminationStatus == 0, let n = out.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            return .died("exit \(p.terminationStatus)")
        }
        return .finished(n)
    }

    /// The first input of `range` that kills a child, by bisection.
    func firstKiller(_ t: FuzzTarget, _ seed: UInt64, _ range: Range<Int>) -> (Int, String)? {
        var r = range
        var why = ""
        guard case .died(let w) = child(t, seed, r, until: nil) else { return nil }
        why = w
        while r.count > 1 {
            let left = r.lowerBound..<(r.lowerBound + r.count / 2)
            if case .died(let w) = child(t, seed, left, until: nil) {
                r = left
                why = w
            } else {
                r = left.upperBound..<r.upperBound
            }
        }
        return (r.lowerBound, why)
    }

    try? FileManager.default.createDirectory(at: crashes, withIntermediateDirectories: true)
    outer: while Date() < deadline {
        for t in FuzzTarget.allCases {
            if Date() >= deadline { break outer }
            let began = Date()
            // Each child stops after its slice (3 s, less in short campaigns) so every target gets turns.
            let slice = Swift.min(3, seconds / 8)
            switch child(t, seed, 0..<batch, until: Swift.min(deadline.timeIntervalSince1970, began.timeIntervalSince1970 + slice)) {
            case .finished(let n):
                total[t, default: 0] += n
                // Aim at about 3 s per child: process starts stay negligible.
                let rate = Double(n) / Swift.max(Date().timeIntervalSince(began), 0.01)
                if n == batch { batch = Swift.min(Swift.max(Int(rate * slice), 100), 200_000) }
            case .died:
                var from = 0
                while from < batch, let (i, why) = firstKiller(t, seed, from..<batch) {
                    let input = Mutator.input(seed: seed, index: i, target: t, corpus: corpus)
                    let file = crashes.appendingPathComponent("\(t.rawValue)-\(seed)-\(i).\(t.seedExtensions[0])")
                    try? Data(input).write(to: file)
                    found.append("\(file.path): \(why)")
                    print("CRASH (\(why)): saved \(file.path)")
                    from = i + 1
                }
                total[t, default: 0] += batch
            }
        }
        seed &+= 1
    }
    let elapsed = Date().timeIntervalSince(start)
    let sum = total.values.reduce(0, +)
    print(String(format: "fuzzed %d inputs in %.0f s (%.0f inputs/s): %@; %d crashes", sum, elapsed, Double(sum) / Swift.max(elapsed, 0.001),
                 FuzzTarget.allCases.map { "\($0.rawValue) \(total[$0] ?? 0)" }.joined(separator: ", "), found.count))
    for f in found { print("  \(f)") }
    exit(found.isEmpty ? 0 : 1)

default:
    fail("usage: tinympq-fuzz run [--seconds N] [--crashes DIR] [--corpus DIR]... | batch ... | replay FILE...")
}
