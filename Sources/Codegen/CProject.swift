import Footprint
import Foundation
import Graph
import Kernels
import Quantize

/// A generated C project: file contents by relative path, plus the figures the build checks.
public struct CProject: Sendable {
    public var identifier: String
    public var files: [String: Data]
    /// The C files to compile, relative to the project folder.
    public var sources: [String]
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
/// (`ParameterBlob`), test vectors from the Swift integer engine (`TestVectors`), the runtime
/// kernels copied beside them (`RuntimeFiles`).
public enum CEmitter {
    /// - Parameter memory: the memory model of the graph the model came from; when given (as
    ///   codegen does on every run), the blob's size must equal its FLASH for the model's bits.
    public static func emit(model: QuantizedModel, arena: ArenaPlan, name: String, runtime: URL, testInput: Tensor,
                            memory: MemoryModel? = nil) throws -> CProject {
        let id = Names.cIdentifier(name)
        guard let inT = model.tensors[model.input], !model.outputs.isEmpty else {
            throw CodegenError("the quantized model has no input or output tensor")
        }
        let outputs = try model.outputs.map { name -> QTensor in
            guard let t = model.tensors[name] else { throw CodegenError("output '\(name)' is not a tensor of the quantized model") }
            return t
        }
        var offset: [String: Int] = [:]
        for b in arena.buffers { offset[b.name] = b.offset }
        for t in [model.input] + model.layers.map(\.output) + model.outputs where offset[t] == nil {
            throw CodegenError("tensor '\(t)' has no place in the arena plan")
        }
        let blob = ParameterBlob(model)
        guard blob.bytes.count == model.parameterBytes else {
            throw CodegenError("parameter blob has \(blob.bytes.count) bytes, the quantized model says \(model.parameterBytes)")
        }
        if let memory, case let flash = memory.flashBytes(of: model), flash != blob.bytes.count {
            throw CodegenError("parameter blob has \(blob.bytes.count) bytes, the memory model's FLASH for the same bits is \(flash)")
        }
        let code = try layerCalls(model, blob: blob, offsets: offset)
        let layout = CSources(id: id, name: name, model: model, arena: arena, offsets: offset, input: inT, outputs: outputs, blob: blob.bytes)
        var files: [String: Data] = [:]
        func put(_ path: String, _ s: String) { files[path] = Data(s.utf8) }
        put("include/\(id).h", layout.header())
        put("include/model.h", layout.genericHeader())
        put("src/\(id).c", layout.modelSource(declarations: code.declarations, body: code.statements))
        put("src/params.c", layout.parameterSource())
        let vectors = try TestVectors(model: model, testInput: testInput)
        put("test/vectors.c", vectors.source())
        let runtimeFiles = try RuntimeFiles.copy(from: runtime)
        files.merge(runtimeFiles) { a, _ in a }
        let sources = ["src/\(id).c", "src/params.c"] + RuntimeFiles.kernelSources(runtimeFiles) + ["test/main.c", "test/vectors.c"]
        return CProject(identifier: id, files: files, sources: sources, parameterBytes: blob.bytes.count, arenaBytes: arena.arenaBytes, inputBytes: inT.bytes,
                        outputBytes: layout.outputBytes, layers: model.layers.count, vectorBytes: vectors.flashBytes)
    }

    /// Each layer's C through its op's emitter, then the layer hook.
    static func layerCalls(_ model: QuantizedModel, blob: ParameterBlob, offsets: [String: Int]) throws -> CKernelCode {
        var all = CKernelCode()
        for (i, l) in model.layers.enumerated() {
            guard let emitter = l.op.op as? CKernelCall else { throw CodegenError("layer '\(l.name)' (\(l.op.name)) has no C emitter") }
            let c = EmitContext(model: model, offsets: offsets, index: i, int32Offsets: blob.int32Offsets[i], byteOffset: blob.byteOffsets[i])
            let x = try c.tensor(l.inputs[0]), y = try c.tensor(l.output)
            let code = try emitter.emit(l, c)
            all.declarations += code.declarations
            all.statements += "    /* \(i): \(cComment(l.name)) (\(l.op.name)), \(describe(x)) -> \(describe(y)) */\n"
            all.statements += code.statements
            all.statements += "    nn_layer_done(\(i), \(c.arena(y)), \(y.bytes));\n"
        }
        return all
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


extension MemoryModel {
    /// FLASH of the parameters at the bits the quantized model uses.
    public func flashBytes(of model: QuantizedModel) -> Int {
        var weightBits: [String: Int] = [:]
        for l in model.layers {
            switch l.op {
            case .conv(let c): weightBits[l.name] = c.weightBits
            case .fullyConnected(let f): weightBits[l.name] = f.weightBits
            default: break
            }
        }
        return flashBytes(weightBits: { weightBits[$0] ?? 8 }, activationBits: { model.tensors[$0]?.quant.bits ?? 8 })
    }
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
            let regions = LinkerRegions(p, t, flashBudget: flashBudget, ramBudget: ramBudget)
            let (flash, ram, stack) = (regions.flash, regions.ram, regions.stack)
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
