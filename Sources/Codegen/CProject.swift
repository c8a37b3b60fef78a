import Footprint
import Foundation
import Graph
import Kernels
import Quantize

/// A generated C project: file contents by relative path, plus the figures the build checks.
public struct CProject: Sendable {
    public var identifier: String
    public var files: [String: Data]
    public var parameterBytes: Int
    public var arenaBytes: Int
    public var inputBytes: Int
    public var outputBytes: Int
    public var layers: Int
    /// Bytes of the test vectors (input, expected output, checksums, names) in FLASH.
    public var vectorBytes: Int

    /// Writes every file below `dir` (creating folders as needed).
    public func write(to dir: URL) throws {
        for (path, data) in files {
            let u = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: u)
        }
    }
}

public struct CodegenError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ m: String) { message = m }
    public var description: String { message }
}

/// Writes the C project for a quantized model: one call per layer at fixed arena offsets from
/// the planner the search used, every parameter in one `const` blob in section `.nn_params`
/// (int32 bias/multiplier/shift first, then packed weights and lookup tables, so its size is
/// exactly the memory model's FLASH), test vectors from the Swift integer engine.
public enum CEmitter {
    public static func emit(model: QuantizedModel, arena: ArenaPlan, name: String, runtime: URL, testInput: Tensor) throws -> CProject {
        let id = Names.cIdentifier(name)
        guard let inT = model.tensors[model.input], let outName = model.outputs.first, let outT = model.tensors[outName] else {
            throw CodegenError("the quantized model has no input or output tensor")
        }
        var offset: [String: Int] = [:]
        for b in arena.buffers { offset[b.name] = b.offset }
        for t in [model.input] + model.layers.map(\.output) where offset[t] == nil {
            throw CodegenError("tensor '\(t)' has no place in the arena plan")
        }

        // The parameter blob: int32 arrays first (4-byte aligned), then bytes.
        var ints: [Int32] = []
        var bytes: [UInt8] = []
        var intAt: [Int: (bias: Int, mult: Int, shift: Int)] = [:]
        var byteAt: [Int: Int] = [:]
        for (i, l) in model.layers.enumerated() {
            switch l.op {
            case .conv(let c):
                intAt[i] = (ints.count * 4, (ints.count + c.bias.count) * 4, (ints.count + 2 * c.bias.count) * 4)
                ints += c.bias + c.multiplier + c.shift
            case .fullyConnected(let f):
                intAt[i] = (ints.count * 4, (ints.count + f.bias.count) * 4, (ints.count + 2 * f.bias.count) * 4)
                ints += f.bias + f.multiplier + f.shift
            default: break
            }
        }
        let intBytes = ints.count * 4
        for (i, l) in model.layers.enumerated() {
            switch l.op {
            case .conv(let c):
                byteAt[i] = intBytes + bytes.count
                bytes += c.weights
            case .fullyConnected(let f):
                byteAt[i] = intBytes + bytes.count
                bytes += f.weights
            case .lookup(let table, _):
                byteAt[i] = intBytes + bytes.count
                bytes += table.map { UInt8(truncatingIfNeeded: $0) }
            default: break
            }
        }
        var blob = [UInt8]()
        blob.reserveCapacity(intBytes + bytes.count)
        for v in ints { for s in 0..<4 { blob.append(UInt8(truncatingIfNeeded: UInt32(bitPattern: v) >> UInt32(8 * s))) } }
        blob += bytes
        guard blob.count == model.parameterBytes else {
            throw CodegenError("parameter blob has \(blob.count) bytes, the memory model says \(model.parameterBytes)")
        }

        // Layer calls.
        func t(_ n: String) -> QTensor { model.tensors[n]! }
        func a(_ n: String) -> String { "(nn_arena + \(offset[n]!))" }
        func sgn(_ q: QTensor) -> Int { q.quant.signed ? 1 : 0 }
        var decls = "", body = ""
        for (i, l) in model.layers.enumerated() {
            let x = t(l.inputs[0]), y = t(l.output)
            body += "    /* \(i): \(cComment(l.name)) (\(l.op.name)), \(describe(x)) -> \(describe(y)) */\n"
            switch l.op {
            case .conv(let c):
                let g = c.geometry
                decls += "static const nnk_conv_params L\(i) = {{\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), "
                decls += "\(g.strideH), \(g.strideW), \(g.dilationH), \(g.dilationW), \(g.padTop), \(g.padLeft)}, \(c.groups), \(c.depthwise ? 1 : 0), "
                decls += "\(x.quant.bits), \(sgn(x)), \(c.weightBits), \(y.quant.bits), \(sgn(y)), \(c.lo), \(c.hi), \(c.padValue)};\n"
                let p = intAt[i]!
                body += "    nnk_conv(&L\(i), \(a(x.name)), nn_params + \(byteAt[i]!), P32(\(p.bias)), P32(\(p.mult)), P32(\(p.shift)), \(a(y.name)));\n"
            case .fullyConnected(let f):
                let p = intAt[i]!
                body += "    nnk_fully_connected(\(a(x.name)), \(x.count / f.inC), \(f.inC), \(x.quant.bits), \(sgn(x)), nn_params + \(byteAt[i]!), \(f.weightBits), "
                body += "P32(\(p.bias)), P32(\(p.mult)), P32(\(p.shift)), \(f.lo), \(f.hi), \(a(y.name)), \(f.outC), \(y.quant.bits), \(sgn(y)));\n"
            case .add(let m1, let m2, let s, let lo, let hi):
                let b = t(l.inputs[1])
                body += "    nnk_add(\(a(x.name)), \(a(b.name)), \(y.runs), \(y.runLength), \(x.quant.bits), \(sgn(x)), \(b.quant.bits), \(sgn(b)), "
                body += "\(m1), \(m2), \(s), \(lo), \(hi), \(a(y.name)), \(y.quant.bits));\n"
            case .channelMul(let m, let s, let lo, let hi):
                let gq = t(l.inputs[1])
                body += "    nnk_channel_mul(\(a(x.name)), \(a(gq.name)), \(x.runs), \(x.runLength), \(x.quant.bits), \(sgn(x)), \(gq.quant.bits), \(sgn(gq)), "
                body += "\(m), \(s), \(lo), \(hi), \(a(y.name)), \(y.quant.bits));\n"
            case .concat(let ms, let ts, let lo, let hi):
                var offset = 0
                for (k, name) in l.inputs.enumerated() {
                    let xi = t(name)
                    body += "    nnk_concat_part(\(a(xi.name)), \(xi.runs), \(xi.runLength), \(xi.quant.bits), \(sgn(xi)), \(ms[k]), \(ts[k]), \(lo), \(hi), "
                    body += "\(a(y.name)), \(y.runLength), \(y.quant.bits), \(offset), \(k == 0 ? 1 : 0));\n"
                    offset += xi.runLength
                }
            case .averagePool(let g, let m, let s, let lo, let hi):
                decls += "static const nnk_window W\(i) = {\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), \(g.strideH), \(g.strideW), 1, 1, 0, 0};\n"
                body += "    nnk_average_pool(&W\(i), \(a(x.name)), \(x.quant.bits), \(sgn(x)), \(m), \(s), \(lo), \(hi), \(a(y.name)), \(y.quant.bits));\n"
            case .maxPool(let g):
                decls += "static const nnk_window W\(i) = {\(g.inH), \(g.inW), \(g.inC), \(g.outH), \(g.outW), \(g.outC), \(g.kH), \(g.kW), \(g.strideH), \(g.strideW), 1, 1, \(g.padTop), \(g.padLeft)};\n"
                body += "    nnk_max_pool(&W\(i), \(a(x.name)), \(x.quant.bits), \(sgn(x)), \(a(y.name)));\n"
            case .lookup(_, let inputMin):
                body += "    nnk_lookup(\(a(x.name)), \(x.runs), \(x.runLength), \(x.quant.bits), \(sgn(x)), nn_params + \(byteAt[i]!), \(inputMin), \(a(y.name)), \(y.quant.bits));\n"
            case .pad(let pads, let value):
                body += "    nnk_pad(\(a(x.name)), \(x.shape[2]), \(x.shape[3]), \(x.shape[1]), \(x.quant.bits), \(sgn(x)), \(pads[0]), \(pads[1]), "
                body += "\(y.shape[2]), \(y.shape[3]), \(value), \(a(y.name)));\n"
            case .reshape(let fromNHWC):
                let (h, w, c) = x.isImage ? (x.shape[2], x.shape[3], x.shape[1]) : (1, 1, x.runLength)
                body += "    nnk_reshape(\(a(x.name)), \(x.runs), \(x.runLength), \(x.quant.bits), \(sgn(x)), \(fromNHWC ? 1 : 0), \(h), \(w), \(c), "
                body += "\(a(y.name)), \(y.runs), \(y.runLength));\n"
            }
            body += "    nn_layer_done(\(i), \(a(y.name)), \(y.bytes));\n"
        }

        let upper = id.uppercased()
        var files: [String: Data] = [:]
        func put(_ path: String, _ s: String) { files[path] = Data(s.utf8) }
        put("include/\(id).h", """
        /* \(id): generated by tinympq \(ToolInfo.version) from \(cComment(name)). Integer-only, no malloc, no libc. */
        #ifndef \(upper)_H
        #define \(upper)_H
        #include <stdint.h>

        #define \(upper)_ARENA_BYTES \(arena.arenaBytes)
        #define \(upper)_INPUT_BYTES \(inT.bytes)
        #define \(upper)_OUTPUT_BYTES \(outT.bytes)
        #define \(upper)_PARAM_BYTES \(model.parameterBytes)
        #define \(upper)_LAYERS \(model.layers.count)
        /* Input: \(inT.shape) NHWC, \(inT.quant.bits)-bit \(inT.quant.signed ? "signed" : "unsigned"); real = (q - \(inT.quant.zeroPoint)) * \(inT.quant.scale) */
        #define \(upper)_INPUT_ZERO_POINT \(inT.quant.zeroPoint)
        /* Output: \(outT.shape), \(outT.quant.bits)-bit \(outT.quant.signed ? "signed" : "unsigned"); real = q * \(outT.quant.scale) */

        /* Runs one inference: `input` and `output` are packed as documented in nnk.h. Returns 0. */
        int \(id)_run(const uint8_t *input, uint8_t *output);

        /* Called after every layer with its packed output; weak, empty by default. */
        void nn_layer_done(int32_t index, const uint8_t *data, uint32_t bytes);
        #endif

        """)
        put("include/model.h", """
        /* Generic names for the test runner. */
        #include "\(id).h"
        #define NN_INPUT_BYTES \(upper)_INPUT_BYTES
        #define NN_OUTPUT_BYTES \(upper)_OUTPUT_BYTES
        #define NN_LAYERS \(upper)_LAYERS
        #define NN_MODEL_RUN \(id)_run
        #ifndef NN_REPEAT
        #define NN_REPEAT 1
        #endif

        """)
        put("src/\(id).c", """
        /* \(id): one call per layer, arena offsets fixed by the planner the search used. */
        #include "\(id).h"
        #include "nnk.h"

        extern const uint8_t nn_params[\(max(blob.count, 1))];
        #define P32(offset) ((const int32_t *)(const void *)(nn_params + (offset)))

        __attribute__((section(".nn_arena"), aligned(8), used)) static uint8_t nn_arena[\(max(arena.arenaBytes, 1))];

        __attribute__((weak)) void nn_layer_done(int32_t index, const uint8_t *data, uint32_t bytes) {
            (void)index; (void)data; (void)bytes;
        }

        \(decls)
        int \(id)_run(const uint8_t *input, uint8_t *output) {
            for (int32_t i = 0; i < \(inT.bytes); ++i) (nn_arena + \(offset[model.input]!))[i] = input[i];
            nn_layer_done(-1, nn_arena + \(offset[model.input]!), \(inT.bytes)); /* input in place (layer counts start here) */
        \(body)    for (int32_t i = 0; i < \(outT.bytes); ++i) output[i] = (nn_arena + \(offset[outName]!))[i];
            return 0;
        }

        """)
        put("src/params.c", """
        /* Every parameter of \(id) (\(blob.count) bytes): int32 bias, multiplier and shift arrays, then packed weights and lookup tables. */
        #include <stdint.h>

        __attribute__((section(".nn_params"), aligned(4), used)) const uint8_t nn_params[\(max(blob.count, 1))] = {
        \(hexRows(blob.isEmpty ? [0] : blob))
        };

        """)
        // Test vectors from the Swift engine.
        let engine = try IntegerEngine(model: model)
        let packedIn = engine.quantizeInput(testInput)
        var checks: [UInt32] = []
        let env = try engine.run(packedInput: packedIn) { _, _, out in checks.append(fnv1a(out)) }
        guard let expected = env[outName] else { throw CodegenError("the Swift engine produced no output") }
        let names = model.layers.map { "    \"\(cString($0.name))\"" }.joined(separator: ",\n")
        put("test/vectors.c", """
        /* Test vectors from tinympq's Swift integer engine (the oracle). */
        #include <stdint.h>
        #include "model.h"

        const uint8_t nn_test_input[NN_INPUT_BYTES] = {
        \(hexRows(packedIn))
        };
        const uint8_t nn_test_expected[NN_OUTPUT_BYTES] = {
        \(hexRows(expected))
        };
        /* FNV-1a of every layer's packed output. */
        const uint32_t nn_test_checksums[NN_LAYERS] = {
        \(checks.map { String(format: "    0x%08xu", $0) }.joined(separator: ",\n"))
        };
        const char *const nn_layer_names[NN_LAYERS] = {
        \(names)
        };

        """)
        for f in ["nnk.h", "nnk.c"] { files["src/\(f)"] = try Data(contentsOf: runtime.appendingPathComponent(f)) }
        files["test/main.c"] = try Data(contentsOf: runtime.appendingPathComponent("test_main.c"))
        for f in ["startup.c", "semihost.c", "link.ld.in"] {
            files["port/cortex-m/\(f)"] = try Data(contentsOf: runtime.appendingPathComponent("port/cortex-m/\(f)"))
        }
        let vectorBytes = packedIn.count + expected.count + 4 * checks.count + model.layers.reduce(0) { $0 + $1.name.utf8.count + 5 }
        return CProject(identifier: id, files: files, parameterBytes: blob.count, arenaBytes: arena.arenaBytes, inputBytes: inT.bytes,
                        outputBytes: outT.bytes, layers: model.layers.count, vectorBytes: vectorBytes)
    }

    static func fnv1a(_ d: [UInt8]) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in d { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    static func hexRows(_ b: [UInt8]) -> String {
        var rows: [String] = []
        var i = 0
        while i < b.count {
            rows.append("    " + b[i..<min(b.count, i + 16)].map { String(format: "0x%02x", $0) }.joined(separator: ", "))
            i += 16
        }
        return rows.joined(separator: ",\n")
    }

    /// A C string literal body: printable ASCII only, quotes and backslashes escaped.
    static func cString(_ s: String) -> String {
        String(s.unicodeScalars.map { c -> String in
            if c == "\"" || c == "\\" { return "\\" + String(c) }
            return c.isASCII && c.value >= 32 && c.value < 127 ? String(c) : "_"
        }.joined().prefix(120))
    }

    /// Text safe inside a C comment.
    static func cComment(_ s: String) -> String { cString(s).replacingOccurrences(of: "*/", with: "*_") }

    static func describe(_ t: QTensor) -> String { "\(t.shape.map(String.init).joined(separator: "x"))@\(t.quant.bits)b" }
}


extension CEmitter {
    /// The user-facing Makefile: host, cm4, cm7, qemu-cm4, qemu-cm7 and size targets; the
    /// linker script's FLASH and RAM are the budget plus each target's allowance.
    public static func makefile(_ p: CProject, targets: [TargetProfile], flashBudget: Int, ramBudget: Int) -> String {
        var s = """
        # Generated by tinympq \(ToolInfo.version). `make host` builds and runs the bit-exactness test on this machine;
        # `make qemu-cm4` / `make qemu-cm7` build for Cortex-M and run it under QEMU; `make size` shows the sections.
        CC ?= cc
        ARM_CC ?= arm-none-eabi-gcc
        CFLAGS = \(ProjectBuild.commonFlags.joined(separator: " "))
        SRC = \(ProjectBuild.sources(p).joined(separator: " "))
        ARMFLAGS = -ffreestanding -nostdlib -ffunction-sections -fdata-sections -Wl,--gc-sections -Wl,--print-memory-usage
        PORT = port/cortex-m/startup.c port/cortex-m/semihost.c

        .PHONY: host \(targets.map { "\(short($0)) qemu-\(short($0))" }.joined(separator: " ")) size clean

        host: build/host/test
        \tbuild/host/test

        build/host/test: $(SRC) $(wildcard src/*.h include/*.h)
        \tmkdir -p build/host
        \t$(CC) $(CFLAGS) -DNN_HOST -o $@ $(SRC)

        """
        for t in targets {
            let n = short(t)
            let stack = t.stackBytes ?? 8192
            let flash = flashBudget + (t.codeBytes ?? 65536) + p.vectorBytes
            let ram = ramBudget + stack + p.outputBytes + 4 * p.layers + 1024
            s += """

            \(n): build/\(t.name)/test.elf

            build/\(t.name)/link.ld: port/cortex-m/link.ld.in
            \tmkdir -p build/\(t.name)
            \tsed -e 's/@FLASH@/\(flash)/' -e 's/@RAM@/\(ram)/' -e 's/@STACK@/\(stack)/' $< > $@

            build/\(t.name)/test.elf: $(SRC) $(PORT) build/\(t.name)/link.ld
            \t$(ARM_CC) \(t.gccFlags.joined(separator: " ")) $(CFLAGS) $(ARMFLAGS) -T build/\(t.name)/link.ld -o $@ $(SRC) $(PORT) -lgcc

            qemu-\(n): build/\(t.name)/test.elf
            \tqemu-system-arm -M \(t.qemuMachine) -cpu \(t.core) -nographic -monitor none -serial none -semihosting-config enable=on,target=native -kernel $<

            """
        }
        s += """

        size: \(targets.map { "build/\($0.name)/test.elf" }.joined(separator: " "))
        \tfor f in $^; do arm-none-eabi-size -A $$f; done

        clean:
        \trm -rf build

        """
        return s
    }

    static func short(_ t: TargetProfile) -> String { t.name.replacingOccurrences(of: "cortex-", with: "c") }
}
