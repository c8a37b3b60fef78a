import Foundation
import Graph
import Import
import TestSupport
import Testing

/// TFLite models (made by `Tests/Fixtures/generate_tflite.py`) against the TFLite interpreter,
/// and corrupt TFLite files against the FlatBuffers reader.
@Suite struct TFLiteTests {
    static let models = ["mobilenet_v1_tfl", "mobilenet_v2_tfl_f16"]

    func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: Fixtures.url(name))) }

    func load(_ bytes: [UInt8], file: String = "broken.tflite") throws -> Graph {
        try TFLiteImporter.load(bytes: bytes, file: file)
    }

    @Test(arguments: models)
    func floatEngineMatchesTheTFLiteInterpreter(model: String) throws {
        let g = try ModelFile.load(Fixtures.url(model + ".tflite"))
        #expect(g.layout == .nhwc)
        let x = try #require(NumPy.load(Fixtures.url(model + ".input.npy"))["x"]).tensor
        let want = try #require(NumPy.load(Fixtures.url(model + ".expected.npy"))["x"]).tensor
        #expect(g.externalShape(g.inputs[0]) == [1] + x.shape.dropFirst())
        let y = try FloatEngine(graph: g, threads: 2).run(g.toLogical(x))[0]
        #expect(y.shape == want.shape)
        #expect(relativeMaxError(y.data, want.data) < 1e-4)
    }

    @Test func layoutsAndOptionsAreMapped() throws {
        let g = try ModelFile.load(Fixtures.url("mobilenet_v1_tfl.tflite"))
        let byName = Dictionary(uniqueKeysWithValues: g.nodes.map { ($0.name, $0) })
        // OHWI → OIHW, SAME padding on a stride-2 3×3 conv of 32×32: one pixel at the bottom/right.
        guard case .conv(let c0)? = byName["conv0"]?.op, let w0 = byName["conv0"]?.inputs[1] else { Issue.record("conv0"); return }
        #expect(g.shape(w0) == [8, 3, 3, 3])
        #expect(c0.pads == [0, 0, 1, 1] && c0.strides == [2, 2])
        // Depth multiplier 2: 16 input channels → 32 outputs in 16 groups.
        guard case .conv(let dw)? = byName["dw3"]?.op, let wd = byName["dw3"]?.inputs[1] else { Issue.record("dw3"); return }
        #expect(dw.group == 16 && g.shape(wd) == [32, 1, 3, 3])
        // Explicit Pad of H and W (NHWC axes 1, 2) → IR axes 2, 3.
        guard case .pad(let pads, _)? = byName["pad2"]?.op else { Issue.record("pad2"); return }
        #expect(pads == [0, 0, 0, 0, 0, 0, 1, 1])
        guard case .reduceMean(let axes, let keep)? = byName["pool"]?.op else { Issue.record("pool"); return }
        #expect(axes == [2, 3] && !keep)
        // Fused RELU6 becomes a Clip after the conv.
        #expect(g.nodes.contains { $0.op == .clip(min: 0, max: 6) && $0.output == "conv0" })
    }

    @Test func float16WeightsAreExpanded() throws {
        let g = try ModelFile.load(Fixtures.url("mobilenet_v2_tfl_f16.tflite"))
        let stem = try #require(g.nodes.first { $0.name == "stem" })
        let w = try #require(g.constants[stem.inputs[1]])
        #expect(w.shape == [16, 3, 3, 3])
        // Every value is exactly a float16.
        #expect(w.data.allSatisfy { Float(Float16($0)) == $0 })
        #expect(!g.nodes.contains { $0.name.contains("_f16") })
    }

    @Test func unsupportedOpIsNamedWithItsIndex() {
        #expect {
            _ = try ModelFile.load(Fixtures.url("bad/unsupported_op.tflite"))
        } throws: { e in
            let s = "\(e)"
            return s.contains("unsupported_op.tflite") && s.contains("L2_NORMALIZATION") && s.contains("operator 1")
        }
    }

    @Test func wrongFileIdentifierIsNamed() throws {
        var b = try bytes("mobilenet_v1_tfl.tflite")
        b[4...7] = [0x54, 0x46, 0x4C, 0x32]  // "TFL2"
        #expect { _ = try load(b) } throws: { e in "\(e)".contains("TFL2") && "\(e)".contains("TFL3") }
        #expect { _ = try load(Array("TFL3".utf8)) } throws: { e in e is ImportError }
    }

    @Test(arguments: 0..<20)
    func randomBytesAreRejected(seed: Int) {
        var rng = SeededRandom(seed: UInt64(seed))
        let n = Int.random(in: 1...4096, using: &rng)
        var b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if seed % 2 == 0, n >= 8 { b[4...7] = [0x54, 0x46, 0x4C, 0x33] }  // get past the identifier check
        #expect { _ = try load(b, file: "random.tflite") } throws: { e in (e as? ImportError)?.file == "random.tflite" }
    }

    @Test func truncationAtEveryOffsetIsRejected() throws {
        let full = try bytes("bad/unsupported_op.tflite")
        #expect(throws: ImportError.self) { _ = try load(full) }  // whole: fails only on the op
        for cut in 0..<full.count {
            #expect {
                _ = try load(Array(full[..<cut]))
            } throws: { e in
                // A cut file must fail in the reader, before lowering reaches the L2_NORMALIZATION.
                !"\(e)".contains("L2_NORMALIZATION")
            }
        }
    }

    @Test func truncationOfAModelIsRejected() throws {
        let full = try bytes("mobilenet_v1_tfl.tflite")
        _ = try load(full)
        for cut in stride(from: 0, to: full.count, by: 97) {
            #expect(throws: ImportError.self, "truncated at \(cut)") { _ = try load(Array(full[..<cut])) }
        }
    }

    /// Offsets that point outside the buffer: the root offset, and every 32-bit word overwritten
    /// in turn with a huge value. Each load must fail or succeed cleanly, never crash.
    @Test func offsetsOutsideTheBufferAreRejected() throws {
        var b = try bytes("bad/unsupported_op.tflite")
        let original = b
        b[0...3] = [0xF0, 0xFF, 0xFF, 0x7F]
        #expect { _ = try load(b) } throws: { e in "\(e)".contains("outside") }
        var rejected = 0
        for word in stride(from: 8, to: original.count - 3, by: 4) {
            b = original
            b[word..<(word + 4)] = [0x00, 0x00, 0x00, 0x70]
            do { _ = try load(b) } catch is ImportError { rejected += 1 }
        }
        #expect(rejected > 0)
    }
}
