import Foundation
import TestSupport
import Testing

/// The fuzzing harness (`tinympq-fuzz`, `make fuzz`): a short campaign is part of the test
/// suite, and every input that once crashed a reader is replayed.
@Suite struct FuzzHarnessTests {
    func fuzzBinary() throws -> URL {
        let build = Fixtures.packageRoot.appendingPathComponent(".build")
        let candidates = ["debug", "release"].map { build.appendingPathComponent("\($0)/tinympq-fuzz") }
            .filter { FileManager.default.isExecutableFile(atPath: $0.path) }
        func mtime(_ u: URL) -> Date { (try? FileManager.default.attributesOfItem(atPath: u.path)[.modificationDate] as? Date) ?? .distantPast }
        guard let best = candidates.max(by: { mtime($0) < mtime($1) }) else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "tinympq-fuzz is not built; run swift build first"])
        }
        return best
    }

    /// Five seconds over every reader: inputs run, nothing crashes or hangs.
    @Test func aShortCampaignFindsNoCrash() throws {
        let crashes = Fixtures.temporaryDirectory("fuzz-crashes")
        defer { try? FileManager.default.removeItem(at: crashes) }
        let r = try runProcess(try fuzzBinary(), ["run", "--seconds", "5", "--batch", "100", "--crashes", crashes.path],
                               cwd: Fixtures.packageRoot, timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("; 0 crashes"), "\(r.stdout)")
        // Every reader got inputs.
        for t in ["onnx", "tflite", "numpy", "budget"] {
            let n = r.stdout.components(separatedBy: "\(t) ").dropFirst().first?.prefix { $0.isNumber }
            #expect((n.flatMap { Int($0) } ?? 0) > 0, "\(t): \(r.stdout)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: crashes.path).isEmpty)
    }

    /// The crashers of issue 17 and of fuzzing campaigns (`Tests/Fixtures/hostile`,
    /// `Tests/Fixtures/crashers`) go through the fuzz entry points (readers and parse → quantize)
    /// in one process: a trap would fail this test.
    @Test func committedCrashersAreReplayedWithoutATrap() throws {
        var files: [String] = []
        for dir in ["hostile", "crashers"] {
            let url = Fixtures.url(dir)
            for f in (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? [] where !f.hasSuffix(".py") {
                files.append(url.appendingPathComponent(f).path)
            }
        }
        #expect(files.count >= 15)
        let r = try runProcess(try fuzzBinary(), ["replay"] + files.sorted(), timeout: 300)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "\n").filter { $0.contains(": refused") || $0.contains(": accepted") }.count == files.count, "\(r.stdout)")
        #expect(r.stdout.contains("reshape_huge.onnx: refused"))
    }
}
