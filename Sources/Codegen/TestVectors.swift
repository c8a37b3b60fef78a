import Foundation
import Graph
import Quantize

/// The test vectors of a generated project, from the Swift integer engine (the oracle): the
/// packed input, the expected outputs (all of them, one after the other), every layer's FNV-1a checksum and name.
struct TestVectors {
    let model: QuantizedModel
    let input: [UInt8]
    let expected: [UInt8]
    let checksums: [UInt32]

    init(model: QuantizedModel, testInput: Tensor) throws {
        self.model = model
        let engine = try IntegerEngine(model: model)
        input = engine.quantizeInput(testInput)
        var checks: [UInt32] = []
        let env = try engine.run(packedInput: input) { _, _, out in checks.append(CEmitter.fnv1a(out)) }
        // Every output, packed one after the other (the order `_run` writes them in).
        expected = try model.outputs.flatMap { name -> [UInt8] in
            guard let out = env[name] else { throw CodegenError("the Swift engine produced no output '\(name)'") }
            return out
        }
        checksums = checks
    }

    /// FLASH the vectors take in a test build (input, expected output, checksums, names).
    var flashBytes: Int {
        input.count + expected.count + 4 * checksums.count + model.layers.reduce(0) { $0 + $1.name.utf8.count + 5 }
    }

    func source() -> String {
        let names = model.layers.map { "    \"\(CEmitter.cString($0.name))\"" }.joined(separator: ",\n")
        return """
        /* Test vectors from tinympq's Swift integer engine (the oracle). */
        #include <stdint.h>
        #include "model.h"

        const uint8_t nn_test_input[NN_INPUT_BYTES] = {
        \(CEmitter.hexRows(input))
        };
        const uint8_t nn_test_expected[NN_OUTPUT_BYTES] = {
        \(CEmitter.hexRows(expected))
        };
        /* FNV-1a of every layer's packed output. */
        const uint32_t nn_test_checksums[NN_LAYERS] = {
        \(checksums.map { String(format: "    0x%08xu", $0) }.joined(separator: ",\n"))
        };
        const char *const nn_layer_names[NN_LAYERS] = {
        \(names)
        };

        """
    }
}
