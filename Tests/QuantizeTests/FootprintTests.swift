import Footprint
import Foundation
import Graph
import Import
import Quantize
import TestSupport
import Testing

@Suite struct FootprintTests {
    @Test func mobileNetV1ReferenceFigures() throws {
        let g = try ReferenceNetworks.mobileNetV1()
        let mm = MemoryModel(graph: g)
        var weights = 0, weightBytes4 = 0
        for l in mm.layers {
            if case .weighted(let rows, let len, _, _) = l.kind {
                weights += rows * len
                weightBytes4 += rows * ((len * 4 + 7) / 8)
            }
        }
        #expect(weights == 4_209_088)
        #expect(weights * 4 / 8 == 2_104_544)  // uniform 4-bit does not fit 2,048,000 B
        // Rows are byte-aligned: the stem's 27-weight rows take 14 bytes, not 13.5 (32 rows).
        #expect(weightBytes4 == 2_104_544 + 16)
        let flash4 = mm.flashBytes(weightBits: { _ in 4 }, activationBits: { _ in 8 })
        // Σ C_out over the 28 layers is 11,944: 12 bytes each for bias, multiplier and shift.
        #expect(flash4 == weightBytes4 + 12 * 11_944)
        let arena = mm.arena { _ in 8 }
        // Peak: input + output of the first pointwise conv, 112·112·32 + 112·112·64.
        #expect(arena.lowerBound == 1_204_224)
        #expect(mm.liveBound { _ in 8 } == arena.lowerBound)
        #expect(arena.arenaBytes == 1_204_224)
        #expect(!arena.hasOverlap)
        #expect(mm.layer(atStep: arena.peakStep)?.name == "conv2")
    }

    @Test(arguments: 0..<50)
    func plannerNeverOverlapsLiveBuffers(seed: Int) {
        var rng = SeededRandom(seed: UInt64(seed))
        let n = Int.random(in: 1...30, using: &rng)
        let bufs = (0..<n).map { i -> (name: String, size: Int, first: Int, last: Int) in
            let f = Int.random(in: 0...20, using: &rng)
            return (name: "t\(i)", size: Int.random(in: 0...5000, using: &rng), first: f, last: f + Int.random(in: 0...6, using: &rng))
        }
        let plan = ArenaPlan(buffers: bufs)
        #expect(!plan.hasOverlap)
        #expect(plan.arenaBytes >= plan.lowerBound)
        #expect(plan.buffers.allSatisfy { $0.offset % ArenaPlan.alignment == 0 })
    }

    /// The memory model's FLASH must equal what the quantizer produces, for any policy.
    @Test(arguments: ["mobilenet_v1_025_32", "mobilenet_v2_035_32", "mnasnet_035_32"])
    func flashModelEqualsQuantizedParameterBytes(model name: String) throws {
        let g = try OnnxImporter.load(Fixtures.url(name + ".onnx"))
        let stats = try Calibrator.collect(graph: g, inputs: Calibrator.syntheticInputs(shape: g.shape(g.inputs[0]), count: 2), synthetic: true)
        let targets = Quantizer.policyTargets(g)
        let mm = MemoryModel(graph: g)
        var rng = SeededRandom(seed: 3)
        for _ in 0..<4 {
            var p = Policy.uniform(8)
            for w in targets.weights { p.weightBits[w] = [2, 4, 8].randomElement(using: &rng)! }
            for a in targets.activations { p.activationBits[a] = [2, 4, 8].randomElement(using: &rng)! }
            let q = try Quantizer.quantize(graph: g, policy: p, stats: stats)
            #expect(mm.flashBytes(weightBits: p.weightBits, activationBits: p.activationBits) == q.parameterBytes)
            // Every tensor of the arena has the bits the quantizer gave it.
            let tb = mm.tensorBits(p.activationBits)
            for (name, t) in q.tensors { #expect(tb[name] == t.quant.bits, "\(name)") }
        }
    }
}
