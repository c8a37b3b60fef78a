import Foundation
import Graph
import Import
import TestSupport
import Testing

/// Corrupt, truncated, malicious and unsupported models: each must end in an `ImportError`
/// that names the file (and the node where there is one), never a crash, a hang or a success.
@Suite struct BadInputTests {
    func load(_ bytes: [UInt8], file: String = "broken.onnx") throws -> Graph {
        try OnnxImporter.load(bytes: bytes, file: file, directory: Fixtures.directory)
    }

    func fixtureBytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url(name))) }

    @Test(arguments: 0..<20)
    func randomBytesAreRejected(seed: Int) {
        var rng = SeededRandom(seed: UInt64(seed))
        let n = Int.random(in: 1...4096, using: &rng)
        let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        #expect {
            _ = try load(bytes, file: "random.onnx")
        } throws: { e in
            (e as? ImportError)?.file == "random.onnx"
        }
    }

    @Test func truncationAtEveryOffsetIsRejected() throws {
        let full = try fixtureBytes("legacy_opset10.onnx")
        _ = try load(full)  // the whole file is fine
        for cut in 0..<full.count {
            #expect(throws: ImportError.self, "truncated at \(cut) of \(full.count)") {
                _ = try load(Array(full[..<cut]))
            }
        }
    }

    @Test func truncationOfALargeModelIsRejected() throws {
        let full = try fixtureBytes("mobilenet_v1_025_32.onnx")
        for i in 0..<64 {
            let cut = full.count * i / 64 + i
            #expect(throws: ImportError.self, "truncated at \(cut)") { _ = try load(Array(full[..<cut])) }
        }
    }

    @Test func wrongWireTypeIsNamed() {
        // Field 7 (graph) sent as a varint instead of a message.
        #expect {
            _ = try load([0x08, 0x07, 0x38, 0x01])
        } throws: { e in
            "\(e)".contains("broken.onnx") && "\(e)".contains("should be a message")
        }
        // A length that runs past the end of the file.
        #expect {
            _ = try load([0x3a, 0xff, 0xff, 0x03, 0x00])
        } throws: { e in "\(e)".contains("remain") }
        // Deprecated group encoding.
        #expect(throws: ImportError.self) { _ = try load([0x0b, 0x0c]) }
    }

    @Test func negativeDimensionIsNamed() {
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("bad/negative_dim.onnx"))
        } throws: { e in
            let s = "\(e)"
            return s.contains("negative_dim.onnx") && s.contains("negative dimension")
        }
    }

    @Test func absurdDimensionIsRefusedBeforeAllocating() {
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("bad/absurd_dim.onnx"))
        } throws: { e in "\(e)".contains("absurd_dim.onnx") && "\(e)".contains("absurd shape") }
    }

    @Test func freeDimensionNeedsAnInputShape() throws {
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("bad/free_dim.onnx"))
        } throws: { e in "\(e)".contains("free dimension 'height'") && "\(e)".contains("inputShape") }
        let g = try OnnxImporter.load(Fixtures.url("bad/free_dim.onnx"), inputShape: [1, 3, 6, 8])
        #expect(g.shape(g.outputs[0]) == [1, 2, 6, 8])
    }

    @Test func unsupportedOpIsNamedWithItsNode() {
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("bad/unsupported_op.onnx"))
        } throws: { e in
            guard let e = e as? ImportError else { return false }
            return e.file == "unsupported_op.onnx" && e.node == "the_erf_node" && e.op == "Erf" && e.message.contains("not supported")
        }
    }

    @Test func externalDataInsideTheFolderLoads() throws {
        let g = try OnnxImporter.load(Fixtures.url("bad/external_ok.onnx"))
        let conv = try #require(g.nodes.first)
        #expect(g.constants[conv.inputs[1]]?.data == [0, 1, 2, 3, 4, 5])
    }

    @Test func externalDataEscapingTheFolderIsRefused() {
        #expect {
            _ = try OnnxImporter.load(Fixtures.url("bad/external_escape.onnx"))
        } throws: { e in
            let s = "\(e)"
            return s.contains("external_escape.onnx") && s.contains("../generate.py") && s.contains("refused")
        }
    }

    @Test func corruptNpzIsNamed() throws {
        let dir = Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("data.npz")
        try Data([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]).write(to: url)
        #expect {
            _ = try NumPy.load(url)
        } throws: { e in "\(e)".contains("data.npz") }
        let npy = dir.appendingPathComponent("x.npy")
        try Data(NumPy.npyData(Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6])).prefix(70)).write(to: npy)
        #expect {
            _ = try NumPy.load(npy)
        } throws: { e in "\(e)".contains("x.npy") && "\(e)".contains("truncated") }
    }
}
