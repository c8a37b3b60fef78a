import Codegen
import Footprint
import Foundation
import Graph
import Quantize

/// Stage 5: the integer model → a C project, built and run on the host (bit-exact against the
/// Swift engine, always) and on the budget's emulated Cortex-M target (others with `--targets`;
/// several build and run in parallel) when the cross toolchain and QEMU are installed, with
/// the linker's section sizes beside the memory model's figures.
public enum CodegenStage {
    public static let name = "codegen"
    public static let number = 5
    /// Bump when what this stage produces for the same inputs changes.
    public static let implementationVersion = 2

    /// The targets codegen builds and runs: `--targets` when given, else the budget's target.
    static func targets(_ c: StageContext) -> [String] { c.options.targets ?? [c.budget.target] }

    public struct Output: Codable, Sendable {
        public var identifier: String
        public var parameterBytes: Int
        public var arenaBytes: Int
        public var hostBitExact: Bool
        public var targets: [ProjectBuild.TargetResult]
        public var passed: Bool
        public var problems: [String]
        /// Per layer: name, op, multiply-accumulates, bits (in/weight/out).
        public var layers: [LayerInfo]
    }

    public struct LayerInfo: Codable, Sendable {
        public var name: String
        public var op: String
        public var macs: Int
        public var bits: String
    }

    /// Each layer's MACs and bits, in the order of the generated calls.
    static func layerInfo(_ model: QuantizedModel) -> [LayerInfo] {
        model.layers.map { l in
            let x = model.tensors[l.inputs[0]], y = model.tensors[l.output]
            let inBits = x?.quant.bits ?? 8, outBits = y?.quant.bits ?? 8
            let macs = y.map { y in l.op.op.macs(inputs: l.inputs.compactMap { model.tensors[$0] }, output: y) } ?? 0
            switch l.op {
            case .conv(let c): return LayerInfo(name: l.name, op: l.op.name, macs: macs, bits: "\(inBits)/\(c.weightBits)/\(outBits)")
            case .fullyConnected(let f): return LayerInfo(name: l.name, op: l.op.name, macs: macs, bits: "\(inBits)/\(f.weightBits)/\(outBits)")
            default: return LayerInfo(name: l.name, op: l.op.name, macs: macs, bits: "\(inBits)/-/\(outBits)")
            }
        }
    }

    public static func run(model: QuantizedModel, graph: Graph, name: String, budget: Budget, targets: [String], resources: PipelineResources,
                           testInput: Tensor, scratch: URL, log: StageLog,
                           cachedBuild: ((_ build: () throws -> Builds) throws -> Builds)? = nil) throws -> (Output, [String: Data]) {
        let mm = MemoryModel(graph: graph)
        let arena = mm.arena { model.tensors[$0]?.quant.bits ?? 8 }
        let runtime = resources.directory.appendingPathComponent("runtime")
        var project = try CEmitter.emit(model: model, arena: arena, name: name, runtime: runtime, testInput: testInput, memory: mm)
        func profile(_ t: String) throws -> TargetProfile {
            let url = resources.targetProfile(t)
            do { return try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: url)) } catch {
                throw CodegenError("cannot read target profile \(url.lastPathComponent): \(error.localizedDescription)")
            }
        }
        // The Makefile offers every known target; the stage builds and runs the chosen ones.
        let profiles = try targets.map(profile)
        let all = try resources.targets.sorted().map(profile)
        project.files["Makefile"] = Data(CEmitter.makefile(project, targets: all, flashBudget: budget.flash, ramBudget: budget.ram).utf8)
        log.line("\(project.identifier): \(project.layers) layers, \(project.parameterBytes) parameter bytes, arena \(project.arenaBytes) bytes")
        let build = { () throws -> Builds in
            try? FileManager.default.removeItem(at: scratch)
            try project.write(to: scratch)
            defer { try? FileManager.default.removeItem(at: scratch) }
            let host = try ProjectBuild.host(project, in: scratch) { log.line($0) }
            let plugin = try ProjectBuild.buildPlugin(source: runtime.appendingPathComponent("qemu/icount.c"), in: scratch)
            return Builds(host: host, targets: try buildTargets(project, profiles, budget: budget, scratch: scratch, plugin: plugin, log: log))
        }
        let builds = try cachedBuild.map { try $0(build) } ?? build()
        let (host, results) = (builds.host, builds.targets)
        var problems: [String] = []
        if !host.compiled { problems.append("the generated C does not compile on the host (see the log)") }
        else if !host.bitExact { problems.append("host build is not bit-exact with the Swift engine") }
        for (p, r) in zip(profiles, results) {
            if let m = r.linkerMessage { problems.append("\(p.name): the linker rejected the build: \(m)") }
            if r.ran && !r.bitExact { problems.append("\(p.name): not bit-exact under QEMU") }
            if let params = r.sections[".nn_params"], params != max(project.parameterBytes, 1) {
                problems.append("\(p.name): .nn_params is \(params) B, the memory model says \(project.parameterBytes) B")
            }
            if let a = r.sections[".nn_arena"], a != max(project.arenaBytes, 1) {
                problems.append("\(p.name): .nn_arena is \(a) B, the planner says \(project.arenaBytes) B")
            }
        }
        for p in problems { log.line("PROBLEM: \(p)") }
        var files: [String: Data] = [:]
        for (path, data) in project.files { files["c/" + path] = data }
        return (Output(identifier: project.identifier, parameterBytes: project.parameterBytes, arenaBytes: project.arenaBytes, hostBitExact: host.bitExact,
                       targets: results, passed: problems.isEmpty, problems: problems, layers: layerInfo(model)), files)
    }
}

/// What building and running the project found, on the host and on each target. It does not
/// depend on the model's name (only identifiers change with it), so it has a cache entry of
/// its own: the same model under another name re-emits its C but does not rebuild it.
public struct Builds: Codable, Sendable {
    public var host: ProjectBuild.HostResult
    public var targets: [ProjectBuild.TargetResult]
}

/// The builds and runs of codegen, a sub-step keyed by everything codegen reads but the name.
enum CodegenBuildStep: CachedStep {
    static let name = "codegen-build"
    static let implementationVersion = 1
    static let inputs = CodegenStage.inputs.filter { $0 != .outputName }
}

extension CodegenStage {
    /// Builds and runs the project for each target, in parallel when there are several (each
    /// under `build/<target>/`; compilers and QEMU are processes of their own).
    static func buildTargets(_ project: CProject, _ profiles: [TargetProfile], budget: Budget, scratch: URL, plugin: URL?,
                             log: StageLog) throws -> [ProjectBuild.TargetResult] {
        let slots = Slots<Result<ProjectBuild.TargetResult, any Error>>(count: profiles.count)
        let flash = budget.flash, ram = budget.ram
        DispatchQueue.concurrentPerform(iterations: profiles.count) { i in
            if Cancellation.isCancelled { return slots.set(i, .failure(CancellationError())) }
            slots.set(i, Result { try ProjectBuild.target(project, profiles[i], flashBudget: flash, ramBudget: ram, in: scratch, plugin: plugin) { log.line($0) } })
        }
        return try slots.values.map { try ($0 ?? .failure(CancellationError())).get() }
    }
}

/// Results written by concurrent workers, one slot each.
final class Slots<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T?]
    init(count: Int) { items = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ v: T) { lock.withLock { items[i] = v } }
    var values: [T?] { lock.withLock { items } }
}

/// `report.json` → `codegen`.
public struct CodegenReport: Codable, Sendable {
    public var hostBitExact: Bool
    public var parameterBytes: Int
    public var arenaBytes: Int
    public var targets: [String: [String: String]]
    public var passed: Bool
    public var problems: [String]
    /// Per layer: name, op, MACs, bits, and instructions per target (QEMU count).
    public var layers: [Layer]

    public struct Layer: Codable, Sendable {
        public var name: String
        public var op: String
        public var macs: Int
        public var bits: String
        public var instructions: [String: Int]
    }

    init(_ o: CodegenStage.Output) {
        layers = o.layers.enumerated().map { i, l in
            var n: [String: Int] = [:]
            for r in o.targets { if let c = r.layerInstructions, c.indices.contains(i) { n[r.target] = c[i] } }
            return Layer(name: l.name, op: l.op, macs: l.macs, bits: l.bits, instructions: n)
        }
        hostBitExact = o.hostBitExact
        parameterBytes = o.parameterBytes
        arenaBytes = o.arenaBytes
        passed = o.passed
        problems = o.problems
        var t: [String: [String: String]] = [:]
        for r in o.targets {
            var e: [String: String] = ["built": String(r.built), "ran": String(r.ran), "bitExact": String(r.bitExact)]
            for (k, v) in r.sections { e["section" + k] = String(v) }
            if let s = r.skipped { e["skipped"] = s }
            if let n = r.instructionsPerInference { e["instructionsPerInference"] = String(n) }
            if let m = r.linkerMessage { e["linkerMessage"] = m }
            t[r.target] = e
        }
        targets = t
    }

    static func markdown(_ o: CodegenStage.Output) -> String {
        var s = "## Generated C (`c/`)\n\n"
        s += "- `\(o.identifier)_run()`: \(Markdown.int(o.parameterBytes)) parameter bytes in `.nn_params`, arena \(Markdown.int(o.arenaBytes)) B in `.nn_arena`\n"
        s += "- host build: \(o.hostBitExact ? "bit-exact with the Swift integer engine (output and every layer checksum)" : "**NOT bit-exact**")\n"
        for p in o.problems { s += "- **problem**: \(p)\n" }
        s += "\n"
        let rows = o.targets.map { r in
            [r.target, r.skipped ?? (r.built ? "yes" : "**no**"), r.ran ? (r.bitExact ? "yes" : "**no**") : "-",
             r.sections[".nn_params"].map(Markdown.int) ?? "-", r.sections[".nn_arena"].map(Markdown.int) ?? "-",
             r.sections[".text"].map(Markdown.int) ?? "-", r.sections[".stack"].map(Markdown.int) ?? "-",
             r.instructionsPerInference.map(Markdown.int) ?? "-"]
        }
        s += Markdown.table(["target", "built", "bit-exact (QEMU)", ".nn_params B", ".nn_arena B", ".text B", ".stack B", "instructions / inference"], rows,
                            rightAligned: [3, 4, 5, 6, 7])
        s += "\nMeasured with `arm-none-eabi-size -A`; `.nn_params` must equal the memory model's FLASH and `.nn_arena` the planner's arena. "
        s += "Instructions per inference are QEMU's executed-instruction count (a TCG plugin; two inferences minus one, less the test runner's checksum hook), not cycles.\n"
        if let r = o.targets.first(where: { $0.layerInstructions?.count == o.layers.count }), let counts = r.layerInstructions {
            let total = max(1, counts.reduce(0, +))
            s += "\n### Instructions per layer on \(r.target) (QEMU count, not cycles)\n\n"
            let rows = zip(o.layers, counts).enumerated().map { i, lc in
                let (l, n) = lc
                return [String(i), "`\(l.name)`", l.op, l.bits, Markdown.int(l.macs), Markdown.int(n),
                        l.macs > 0 ? String(format: "%.2f", Double(n) / Double(l.macs)) : "-", String(format: "%.1f%%", 100 * Double(n) / Double(total))]
            }
            s += Markdown.table(["#", "layer", "op", "bits in/w/out", "MACs", "instructions", "per MAC", "share"], rows, rightAligned: [0, 4, 5, 6, 7])
        }
        return s
    }
}

extension CodegenStage: PipelineStage {
    static let inputs: [StageInput] = [.graph, .quantized, .memoryBudget, .calibration, .validation, .outputName, .runtime, .targets, .toolchain]

    /// Only for a model that passed validation, and only where the C runtime was found.
    static func applies(_ c: StageContext) -> Bool {
        (c.report.validation?.passed ?? true) && c.options.resources != nil
    }

    static func run(_ c: StageContext, log: StageLog) throws -> StageOutput {
        guard let resources = c.options.resources else { throw CodegenError("the pipeline folder (runtime, targets) was not found") }
        let g = try c.graph(log)
        let (data, _) = try c.dataAndStats(log)
        let (model, _) = try c.quantized()
        let scratch = c.store?.scratch("codegen") ?? FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-codegen-\(getpid())-\(UUID().uuidString)")
        let (o, files) = try run(model: model, graph: g, name: c.folder, budget: c.budget, targets: targets(c), resources: resources,
                                 testInput: data.validation.item(0), scratch: scratch, log: log) { build in
            try c.cached(CodegenBuildStep.self, log: log, build)
        }
        var r = c.emptyReport()
        r.codegen = CodegenReport(o)
        return StageOutput(files: files, report: r, markdown: CodegenReport.markdown(o))
    }
}
