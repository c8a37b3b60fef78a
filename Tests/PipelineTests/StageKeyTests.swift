import Foundation
import Kernels
import Search
@testable import Pipeline
import TestSupport
import Testing

/// Cache keys are made of each stage's declared inputs, the running executable's digest and
/// the stage's implementation version; and the runner publishes only what changed.
@Suite struct StageKeyTests {
    let watched = Fixtures.packageRoot.appendingPathComponent("watched")
    let resources = PipelineResources(directory: Fixtures.packageRoot.appendingPathComponent("pipeline"))

    func context(folder: String = "digits_cnn", edit: (inout Budget) -> Void = { _ in }, options: (inout RunOptions) -> Void = { _ in }) throws -> StageContext {
        var o = RunOptions(outputDirectory: Fixtures.temporaryDirectory("keys"), resources: resources)
        options(&o)
        var b = try #require(try BudgetFile.load(watched.appendingPathComponent("digits_cnn.budget.json"), resources: resources).first)
        edit(&b)
        let c = try StageContext(model: watched.appendingPathComponent("digits_cnn.onnx"), folder: folder, options: o, budget: b, store: nil)
        // Products the later stages' keys read.
        c.products[SearchStage.name] = StageResult(files: ["policy.json": Data("{}".utf8)], internalFiles: [:])
        c.products[QuantizeStage.name] = StageResult(files: ["quantized.json": Data("q".utf8)],
                                                     internalFiles: [QuantizeStage.withoutBiasCorrectionFile: Data("p".utf8)])
        return c
    }

    @Test func everyKeyHoldsTheExecutableTheVersionAndEachDeclaredInput() throws {
        let c = try context()
        #expect(CodeDigest.executable.count == 64)
        for stage in PipelineStages.table {
            let k = try stage.key(c)
            #expect(k["tool"] == CodeDigest.executable && k["impl"] == String(stage.implementationVersion) && k["stage"] == stage.name)
            #expect(Set(k.keys) == Set(["tool", "impl", "stage"] + stage.inputs.map(\.rawValue)), "\(stage.name)")
        }
        #expect(try SensitivityStep.key(c)["tool"] == CodeDigest.executable)
    }

    @Test func codegenKeyFollowsTheNameTheTargetAndTheRuntime() throws {
        let base = cacheKey(try CodegenStage.key(try context()))
        #expect(cacheKey(try CodegenStage.key(try context())) == base)
        #expect(cacheKey(try CodegenStage.key(try context(folder: "beta"))) != base)
        #expect(cacheKey(try CodegenStage.key(try context(edit: { $0.target = "cortex-m7" }))) != base)
        #expect(cacheKey(try CodegenStage.key(try context(options: { $0.targets = ["cortex-m4", "cortex-m7"] }))) != base)
        // The search does not depend on the target, only codegen does.
        #expect(try SearchStage.key(try context(edit: { $0.target = "cortex-m7" })) == SearchStage.key(try context()))
        #expect(try SearchStage.key(try context(edit: { $0.ram += 1 })) != SearchStage.key(try context()))
        #expect(try SensitivityStep.key(try context(edit: { $0.ram += 1 })) == SensitivityStep.key(try context()))
    }

    @Test func folderDigestFollowsEveryFile() throws {
        let dir = Fixtures.temporaryDirectory("digest")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("port"), withIntermediateDirectories: true)
        try Data("int a;".utf8).write(to: dir.appendingPathComponent("nnk.c"))
        try Data("x".utf8).write(to: dir.appendingPathComponent("port/s.c"))
        let d0 = CodeDigest.folder(dir)
        #expect(CodeDigest.folder(dir) == d0)
        try Data("y".utf8).write(to: dir.appendingPathComponent("port/s.c"))
        let d1 = CodeDigest.folder(dir)
        #expect(d1 != d0)
        try FileManager.default.moveItem(at: dir.appendingPathComponent("port/s.c"), to: dir.appendingPathComponent("port/t.c"))
        #expect(CodeDigest.folder(dir) != d1)
        #expect(CodeDigest.folder(dir.appendingPathComponent("none")) == "missing")
    }

    /// An unchanged rerun keeps the published folder; a damaged folder is published again; a
    /// staging folder a killed run left is removed at start.
    @Test func unchangedResultIsNotPublishedAgain() throws {
        let dir = Fixtures.temporaryDirectory("publish")
        defer { try? FileManager.default.removeItem(at: dir) }
        for f in ["digits_cnn.onnx", "digits_cnn.budget.json", "digits_cnn.npz", "digits_cnn.val.npz"] {
            try FileManager.default.copyItem(at: watched.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let out = dir.appendingPathComponent("out")
        var o = RunOptions(outputDirectory: out, until: "parse", resources: resources, cacheDirectory: dir.appendingPathComponent("cache"))
        o.threads = 1
        let runner = PipelineRunner(options: o) { _ in }
        let model = dir.appendingPathComponent("digits_cnn.onnx")
        let first = try #require(runner.run(model: model).first)
        #expect(first.exitCode == .ok && first.published)
        let manifest = out.appendingPathComponent("digits_cnn/manifest.json")
        let before = try Data(contentsOf: manifest)
        let leftover = out.appendingPathComponent(".digits_cnn.staging-2147483000-5")
        try FileManager.default.createDirectory(at: leftover, withIntermediateDirectories: true)
        let second = try #require(runner.run(model: model).first)
        #expect(second.exitCode == .ok && !second.published)
        #expect(try Data(contentsOf: manifest) == before)
        #expect(!FileManager.default.fileExists(atPath: leftover.path))
        try Data("damaged".utf8).write(to: out.appendingPathComponent("digits_cnn/graph.json"))
        let third = try #require(runner.run(model: model).first)
        #expect(third.exitCode == .ok && third.published)
    }
}

/// The search's random choices follow the budget's seed.
@Suite struct SeededSearchTests {
    @Test func sameSeedSameChecksOtherSeedOtherChecks() throws {
        let watched = Fixtures.packageRoot.appendingPathComponent("watched")
        let resources = PipelineResources(directory: Fixtures.packageRoot.appendingPathComponent("pipeline"))
        var budget = try #require(try BudgetFile.load(watched.appendingPathComponent("digits_cnn.budget.json"), resources: resources).first)
        let o = RunOptions(outputDirectory: Fixtures.temporaryDirectory("seed"), threads: 1, resources: resources)
        let c = try StageContext(model: watched.appendingPathComponent("digits_cnn.onnx"), folder: "digits_cnn", options: o, budget: budget, store: nil)
        let log = StageLog(stage: "search")
        let g = try c.graph(log)
        let (data, stats) = try c.dataAndStats(log)
        var table: SensitivityTable? = nil
        func scores(_ b: Budget) throws -> [Double] {
            let outcome = try SearchStage.run(graph: g, budget: b, stats: stats, data: data, threads: 1, log: log) { _, compute in
                if let table { return table }
                table = try compute()
                return table!
            }
            return outcome.checks.map(\.score) + [outcome.rankCorrelation ?? .nan]
        }
        let a = try scores(budget), b = try scores(budget)
        #expect(a == b)
        budget.search.seed += 1
        #expect(try scores(budget) != a)
    }
}
