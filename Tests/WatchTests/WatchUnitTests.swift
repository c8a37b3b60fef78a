import Foundation
import Synchronization
import Pipeline
@testable import Watch
import Testing

/// The watcher's own rules, without a daemon process: which names it acts on, how a worker is
/// started, how a worker's result line reads back, and the polling source's events.
@Suite struct WatchUnitTests {
    @Test(arguments: ["m.onnx", "m.tflite", "m.budget.json", "budget.json", "m.npz", "m.val.npz", "m.npy", "m.policy.json"])
    func inputsAreRelevant(name: String) {
        #expect(Daemon.isRelevant(name))
    }

    @Test(arguments: [".m.onnx", "m.onnx.part", "m.onnx.tmp", "m.onnx~", ".m.onnx.swp", "notes.txt", "report.json", "m.onnx.bak"])
    func temporaryAndForeignNamesAreIgnored(name: String) {
        #expect(!Daemon.isRelevant(name))
    }

    /// A worker is this executable with an argument array (no shell), marked as a worker, with
    /// its memory limit and the daemon's cache; a name with shell syntax stays one argument.
    @Test func workerArgumentsAreAnArrayWithTheLimits() {
        let model = URL(fileURLWithPath: "/tmp/w/a b; rm -rf x.onnx")
        var options = RunOptions(outputDirectory: URL(fileURLWithPath: "/tmp/out"), threads: 1, resources: nil,
                                 cacheDirectory: URL(fileURLWithPath: "/tmp/cache"))
        var limits = WorkerLimits()
        limits.memoryBytes = 1 << 30
        var a = Worker.arguments(model: model, options: options, limits: limits)
        #expect(a.first == "run" && a[1] == model.path)
        #expect(a.contains("--worker-internal"))
        #expect(a.firstIndex(of: "--memory-limit").map { a[$0 + 1] } == String(1 << 30))
        #expect(a.firstIndex(of: "--cache").map { a[$0 + 1] } == "/tmp/cache")
        options.cacheDirectory = nil
        a = Worker.arguments(model: model, options: options, limits: limits)
        #expect(a.contains("--no-cache") && !a.contains("--cache"))
    }

    @Test func aResultLineReadsBack() throws {
        let r = WorkerResult(model: "m", output: "/tmp/out/m", exitCode: 3, message: "over budget: \"8 kB\"\nsecond line")
        #expect(r.line.hasPrefix(WorkerResult.prefix) && !r.line.contains("\n"))
        let back = try JSONDecoder().decode(WorkerResult.self, from: Data(r.line.dropFirst(WorkerResult.prefix.count).utf8))
        #expect(back.model == r.model && back.exitCode == 3 && back.message == r.message)
    }

    @Test func signalsAreNamedForPeople() {
        #expect(Worker.signalName(SIGILL).contains("trap"))
        #expect(Worker.signalName(SIGSEGV).contains("memory"))
        #expect(Worker.signalName(99) == "signal 99")
    }

    /// The polling source delivers rescans on its period and stops.
    @Test func pollingDeliversRescans() throws {
        let source = PollingSource(interval: 0.05)
        let count = Mutex(0)
        try source.start { event in if event == .rescan { count.withLock { $0 += 1 } } }
        Thread.sleep(forTimeInterval: 0.5)
        source.stop()
        let seen = count.withLock { $0 }
        #expect(seen >= 2)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(count.withLock { $0 } <= seen + 1)
    }
}
