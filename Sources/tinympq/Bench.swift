import Foundation
import Graph
import Import
import Pipeline
import Quantize
import Search

extension Commands {
    /// `tinympq bench MODEL [--runs N]`: timing figures as one JSON line, for scripts/bench.py.
    static func bench(_ args: [String]) throws -> ExitCode {
        let a = try Arguments(args, valued: ["runs", "calibration", "data", "search", "episodes", "updates"], allowedFlags: ["profile", "kernels", "host-c", "sensitivity"])
        if a.flags.contains("help") {
            print("USAGE: tinympq bench MODEL [--runs N]\n\nPrints parse time and float-engine milliseconds per image (1 and 2 threads) as JSON.")
            return .ok
        }
        if a.flags.contains("kernels") {
            guard let res = PipelineResources.locate() else { throw UsageError("pipeline/ not found") }
            let r = try KernelBench.run(resources: res)
            print(String(decoding: try JSONSerialization.data(withJSONObject: r, options: [.sortedKeys]), as: UTF8.self))
            return .ok
        }
        guard a.positionals.count == 1 else { throw UsageError("bench needs one MODEL") }
        let runs = try a.int("runs", default: 20, range: 1...10_000)
        let url = URL(fileURLWithPath: a.positionals[0])
        var parse: [Double] = []
        var graph: Graph? = nil
        for _ in 0..<5 {
            let t0 = DispatchTime.now()
            graph = try ModelFile.load(url)
            parse.append(seconds(since: t0))
        }
        guard let graph else { return .stageFailed }
        var result: [String: Double] = ["parseSeconds": parse.min() ?? 0]
        let shape = graph.shape(graph.inputs[0])
        var rng = SystemRandomNumberGenerator()
        let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Float.random(in: -1...1, using: &rng) })
        // Wall time (median and minimum) and, because the machine may be shared, the process's
        // CPU time per image (at 1 thread the time an unloaded core would take).
        for threads in [1, 2] {
            let engine = try FloatEngine(graph: graph, threads: threads)
            _ = try engine.run(x)
            var times: [Double] = []
            let c0 = cpuSeconds()
            for _ in 0..<runs {
                let t0 = DispatchTime.now()
                _ = try engine.run(x)
                times.append(seconds(since: t0) * 1000)
            }
            result["floatCpuMsPerImage\(threads)t"] = (cpuSeconds() - c0) * 1000 / Double(runs)
            result["floatMsPerImage\(threads)t"] = times.sorted()[times.count / 2]
            result["floatMinMsPerImage\(threads)t"] = times.min() ?? 0
        }
        if let cal = a.options["calibration"], let data = a.options["data"] {
            // Uniform 8-bit integer model: engine speed and fidelity against float on `data`.
            let c = try NumPy.load(URL(fileURLWithPath: cal))["x"]?.tensor ?? x
            let arrays = try NumPy.load(URL(fileURLWithPath: data))
            guard let d = arrays["x"]?.tensor else { throw UsageError("\(data) has no array x") }
            let t0 = DispatchTime.now()
            let stats = try Calibrator.collect(graph: graph, inputs: c, synthetic: false)
            let model = try Quantizer.quantize(graph: graph, policy: .uniform(8), stats: stats)
            result["quantizeSeconds"] = seconds(since: t0)
            let engine = try IntegerEngine(model: model, threads: 1)
            let one = d.item(0)
            _ = try engine.run(one)
            let t1 = DispatchTime.now()
            let reps = max(1, min(runs, 5))
            for _ in 0..<reps { _ = try engine.run(one) }
            result["integerMsPerImage1t"] = seconds(since: t1) * 1000 / Double(reps)
            let v = try Validator.evaluate(graph: graph, model: model, x: d, labels: arrays["y"]?.ints)
            result["int8Top1Agreement"] = v.top1Agreement
            result["int8MeanKL"] = v.meanKL
            if let acc = v.accuracyQuantized, let f = v.accuracyFloat {
                result["int8Accuracy"] = acc
                result["floatAccuracy"] = f
            }
        }
        if a.flags.contains("sensitivity") {
            // The sensitivity table on 32 synthetic images (2 threads, as the search stage runs
            // it): all 32, and with the stopping rule; then the score check after it.
            let cal = Calibrator.syntheticInputs(shape: shape, count: 32)
            let stats = try Calibrator.collect(graph: graph, inputs: cal, synthetic: true)
            // Wall seconds, and CPU seconds / 2: what two unloaded cores would take.
            var t0 = DispatchTime.now(), c0 = cpuSeconds()
            let table = try Sensitivity.measure(graph: graph, stats: stats, images: cal, bits: [2, 4, 8], threads: 2)
            result["sensitivitySeconds"] = seconds(since: t0)
            result["sensitivityCpuSecondsPerCore"] = (cpuSeconds() - c0) / 2
            t0 = DispatchTime.now(); c0 = cpuSeconds()
            let ruled = try Sensitivity.measure(graph: graph, stats: stats, images: cal, bits: [2, 4, 8], threads: 2, rule: .standard)
            result["sensitivityRuleSeconds"] = seconds(since: t0)
            result["sensitivityRuleCpuSecondsPerCore"] = (cpuSeconds() - c0) / 2
            result["sensitivityRuleImages"] = Double(ruled.images)
            let space = SearchSpace(graph: graph, budget: SearchBudget(flash: 1 << 40, ram: 1 << 40), table: table)
            let policies = [Policy.uniform(8), .uniform(4)] + ScoreCheck.randomPolicies(space, weightBits: [2, 4, 8], activationBits: [2, 4, 8], count: 5, seed: 1)
            t0 = DispatchTime.now(); c0 = cpuSeconds()
            _ = try ScoreCheck.jointKL(graph: graph, stats: stats, policies: policies, images: Tensor.stack((0..<8).map { cal.item($0) }), threads: 2)
            result["scoreCheckSeconds"] = seconds(since: t0)
            result["scoreCheckCpuSecondsPerCore"] = (cpuSeconds() - c0) / 2
        }
        if let spec = a.options["search"] {
            // "FLASH,RAM" in bytes: sensitivity on 32 synthetic images, then every searcher.
            let parts = spec.split(separator: ",").compactMap { Int($0) }
            guard parts.count == 2 else { throw UsageError("--search needs FLASH,RAM in bytes") }
            let cal = Calibrator.syntheticInputs(shape: shape, count: 32)
            let stats = try Calibrator.collect(graph: graph, inputs: cal, synthetic: true)
            let t0 = DispatchTime.now()
            let table = try Sensitivity.measure(graph: graph, stats: stats, images: cal, bits: [2, 4, 8], threads: 2)
            result["sensitivitySeconds"] = seconds(since: t0)
            let space = SearchSpace(graph: graph, budget: SearchBudget(flash: parts[0], ram: parts[1]), table: table)
            let episodes = try a.int("episodes", default: 600, range: 1...100_000)
            let runs: [(String, () throws -> SearchResult)] = [
                ("uniform", { try UniformSearch.run(space) }), ("rule", { try RuleBasedSearch.run(space) }),
                ("exact", { try ExactSearch.run(space) }), ("haq", { try HAQSearch.run(space, options: HAQOptions(episodes: episodes)) }),
                ("haqFast", { try HAQSearch.run(space, options: HAQOptions(episodes: 600, updatesPerEpisode: 2)) }),
            ]
            for (name, run) in runs {
                do {
                    let r = try run()
                    result["\(name)Seconds"] = r.seconds
                    result["\(name)Score"] = r.evaluation.fits ? r.evaluation.score : -1
                    result["\(name)Flash"] = Double(r.evaluation.flash)
                    result["\(name)RAM"] = Double(r.evaluation.arena)
                } catch let e as InfeasibleBudget {
                    result["\(name)Score"] = -1
                    warn("\(name): \(e)")
                }
            }
        }
        if a.flags.contains("host-c") {
            guard let res = PipelineResources.locate() else { throw UsageError("pipeline/ not found") }
            for (k, v) in try KernelBench.hostTiming(graph: graph, resources: res) { result[k] = v }
        }
        if a.flags.contains("profile") {
            for threads in [1, 2] {
                let p = try FloatEngine(graph: graph, threads: threads).profile(x, runs: runs)
                for (k, v) in p.sorted(by: { $0.value > $1.value }) { warn(String(format: "%dt %-18@ %8.2f ms", threads, k, v)) }
            }
        }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
        return .ok
    }

    /// CPU time of the whole process (all threads), in seconds.
    static func cpuSeconds() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func seconds(since t0: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds) / 1e9
    }
}
