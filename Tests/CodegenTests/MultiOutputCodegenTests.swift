import Codegen
import Footprint
import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// The generated C returns every graph output, each with its offset, size, scale and
/// zero-point in the header.
@Suite struct MultiOutputCodegenTests {
    @Test(arguments: [2, 8])
    func everyOutputIsReturnedBitExact(bits: Int) throws {
        var (model, x) = try OpChainCodegenTests.chain(bits: bits, seed: UInt64(bits) + 7)
        model.outputs = ["fl", "gp", "lk"]  // a flattened head, a pooled vector, an image
        let (p, dir) = try OpChainCodegenTests.build(model, x, name: "heads\(bits)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let header = String(decoding: try #require(p.files["include/heads\(bits).h"]), as: UTF8.self)
        let sizes = model.outputs.map { model.tensors[$0]!.bytes }
        #expect(header.contains("#define HEADS\(bits)_OUTPUTS 3"))
        #expect(header.contains("#define HEADS\(bits)_OUTPUT_BYTES \(sizes.reduce(0, +))"))
        #expect(header.contains("#define HEADS\(bits)_OUTPUT_1_OFFSET \(sizes[0])"))
        #expect(header.contains("#define HEADS\(bits)_OUTPUT_2_OFFSET \(sizes[0] + sizes[1])"))
        #expect(header.contains("#define HEADS\(bits)_OUTPUT_1_SCALE \(model.tensors["gp"]!.quant.scale)"))
        #expect(header.contains("#define HEADS\(bits)_OUTPUT_2_ZERO_POINT 0"))
        #expect(p.outputBytes == sizes.reduce(0, +))
        // The host test compares the whole output buffer (all three) with the Swift engine's.
        let r = try ProjectBuild.host(p, in: dir) { _ in }
        #expect(r.bitExact, "\(r.output)")
    }
}
