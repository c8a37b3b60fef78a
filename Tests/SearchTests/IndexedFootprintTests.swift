import Footprint
import Graph
import Import
import Quantize
@testable import Search
import TestSupport
import Testing

/// The index tables HAQ clips with must give the memory model's own figures.
@Suite struct IndexedFootprintTests {
    @Test(arguments: ["mnasnet_035_32", "mobilenet_v2_035_32", "legacy_opset10"])
    func tablesAgreeWithTheMemoryModel(model: String) throws {
        let g = try OnnxImporter.load(Fixtures.url(model + ".onnx"))
        let t = Quantizer.policyTargets(g)
        let space = SearchSpace(graph: g, budget: SearchBudget(flash: 1 << 30, ram: 1 << 30), table: SearchTests.randomTable(t, seed: 1))
        let f = IndexedFootprint(space)
        var rng = SeededRandom(seed: 9)
        for _ in 0..<40 {
            let w = space.weightLayers.map { _ in [2, 4, 8][Int(rng.next() % 3)] }
            let a = space.activationTensors.map { _ in [2, 4, 8][Int(rng.next() % 3)] }
            let p = space.policy(weights: w, activations: a)
            #expect(f.flash(weights: w, activations: a) == space.memory.flashBytes(weightBits: p.weightBits, activationBits: p.activationBits))
            #expect(f.liveBound(activations: a) == space.memory.liveBound(activationBits: p.activationBits))
        }
    }
}
