import Foundation
import Graph
import Import
import Quantize
import Testing

@Suite struct TmpBench {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["E_MODEL"] != nil)) func hessianTime() throws {
        let env = ProcessInfo.processInfo.environment
        let g = try OnnxImporter.load(URL(fileURLWithPath: env["E_MODEL"]!))
        let all = try NumPy.load(URL(fileURLWithPath: env["E_DATA"]!))["x"]!.tensor
        let n = Int(env["E_N"] ?? "4")!
        let x = Tensor.stack((0..<n).map { all.item($0) })
        let t0 = Date()
        let e = try FloatEngine(graph: g, threads: 2)
        _ = try e.run(x)
        let t1 = Date()
        let h = try LayerHessians.collect(graph: g, inputs: x, threads: 2)
        let t2 = Date()
        let r = try HessianRounding.round(graph: g, policy: Policy(defaultWeightBits: 4, defaultActivationBits: 8), hessians: h, threads: 2)
        let t3 = Date()
        print("BENCH \(n) images: float run \(t1.timeIntervalSince(t0)) s, hessians \(t2.timeIntervalSince(t1)) s, rounding \(t3.timeIntervalSince(t2)) s, \(r.count) layers")
    }
}
