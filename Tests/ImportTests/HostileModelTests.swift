import Foundation
import Graph
import Import
import TestSupport
import Testing

/// The parse-stage reproducers of issue 17 (`Tests/Fixtures/hostile/`, made by
/// `generate_hostile.py`): each once trapped or hung; each must now be an `ImportError` naming
/// the file and the field, node or tensor.
@Suite struct HostileModelTests {
    func hostile(_ name: String) -> URL { Fixtures.url("hostile/\(name)") }

    func expectImportError(_ file: String, node: String? = nil, _ fragments: [String]) {
        #expect {
            _ = try ModelFile.load(hostile(file))
        } throws: { e in
            guard let e = e as? ImportError else { return false }
            let s = e.description
            return e.file == file && (node == nil || e.node == node) && fragments.allSatisfy { s.contains($0) }
        }
    }

    @Test func theUnbrokenTwinLoads() throws {
        let g = try ModelFile.load(hostile("tiny_cnn.onnx"))
        #expect(g.shape(g.outputs[0]) == [1, 2])
    }

    @Test func externalDataOffsetNearInt64MaxIsRefused() {
        expectImportError("external_offset.onnx", ["initializer 'w'", "9223372036854775807"])
    }

    @Test func reshapeToAnAbsurdShapeIsRefused() {
        expectImportError("reshape_huge.onnx", node: "reshape_huge", ["cannot reshape", "1000000000"])
    }

    @Test(arguments: [("nan_weight.onnx", "NaN"), ("inf_weight.onnx", "inf"), ("neg_inf_weight.onnx", "-inf")])
    func nonFiniteWeightsAreRefusedNamingTheTensor(file: String, value: String) {
        expectImportError(file, node: "conv0", ["tensor 'w'", "holds \(value)", "finite"])
    }

    @Test func twoNodesWritingOneTensorAreRefused() {
        expectImportError("duplicate_output.onnx", node: "relu_writes_c_again", ["output 'c'", "already written"])
    }

    /// The 10,003-node chain (a conv, then Relus) no longer reaches the node limit: the import's
    /// simplification fuses the Relus, so the pipeline has a small graph to work on.
    @Test func tenThousandReluChainIsFusedBelowTheNodeLimit() throws {
        let g = try ModelFile.load(hostile("relu_chain.onnx"))
        #expect(g.nodes.count <= 1000)
    }

    /// Found by the fuzzer: a TFLite MAX_POOL_2D whose filter size was overwritten with 2^31 − 1
    /// (SAME padding, so the output shape stayed small) ran for ever in calibration. A window
    /// op's work (outputs × taps) is now bounded when the node is added.
    @Test func anAbsurdPoolWindowIsRefusedBeforeItRuns() throws {
        var g = Graph(name: "g", inputs: ["x"], outputs: [])
        g.shapes["x"] = [1, 8, 32, 32]
        let k = Int(Int32.max)
        let pool = Pool2D(kernelShape: [k, k], strides: [1, 1], pads: [k / 2, k / 2, k - 1 - k / 2, k - 1 - k / 2])
        #expect {
            try g.append(Node(name: "pool", op: .maxPool(pool), inputs: ["x"], output: "y"))
        } throws: { e in "\(e)".contains("window taps") }
        // A sane window is fine.
        try g.append(Node(name: "pool3", op: .maxPool(Pool2D(kernelShape: [3, 3], strides: [1, 1], pads: [1, 1, 1, 1])), inputs: ["x"], output: "y3"))
        #expect(g.shape("y3") == [1, 8, 32, 32])
    }

    /// Issue 17's TFLite crash: a buffer offset overwritten with 0x80. Aligned words of both fixtures
    /// are overwritten in turn; each load must return or throw.
    @Test(arguments: ["mobilenet_v1_tfl.tflite", "mobilenet_v2_tfl_f16.tflite"])
    func overwrittenWordsNeverTrap(file: String) throws {
        let full = [UInt8](try Data(contentsOf: Fixtures.url(file)))
        var failures = 0, loads = 0
        // 0x80 at every word (issue 17's value); two more values at every 16th word.
        for (value, step): (UInt32, Int) in [(0x80, 4), (0xFFFF_FFFF, 64), (0x7FFF_FFF0, 64)] {
            for p in stride(from: 0, to: full.count - 3, by: step) {
                var b = full
                for k in 0..<4 { b[p + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(k))) }
                do { _ = try TFLiteImporter.load(bytes: b, file: file); loads += 1 } catch is ImportError { failures += 1 }
            }
        }
        #expect(failures > 0 && loads > 0)
    }
}
