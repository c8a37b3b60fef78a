import Codegen
import Dispatch
import Footprint
import Foundation
import Graph
import Kernels
import Pipeline
import Quantize

/// `tinympq bench --kernels`: instructions per MAC of the generated C kernels on the emulated
/// Cortex-M4 (QEMU instruction count, not cycles), for pointwise, depthwise and 3×3 conv at
/// 8/8/8, 4/4/4 and 2/2/2 bits, one JSON line.
enum KernelBench {
    static func run(resources: PipelineResources) throws -> [String: Double] {
        guard Toolchain.find("arm-none-eabi-gcc") != nil, Toolchain.find("qemu-system-arm") != nil else {
            throw UsageError("--kernels needs arm-none-eabi-gcc and qemu-system-arm (make deps)")
        }
        let profile = try JSONDecoder().decode(TargetProfile.self, from: Data(contentsOf: resources.directory.appendingPathComponent("targets/cortex-m4.json")))
        var out: [String: Double] = [:]
        // (name, h, w, cin, cout, k, depthwise)
        let shapes = [("pointwise", 28, 28, 64, 64, 1, false), ("depthwise", 28, 28, 64, 64, 3, true), ("conv3x3", 14, 14, 32, 32, 3, false)]
        for (name, h, w, cin, cout, k, dw) in shapes {
            // (activation bits, weight bits): uniform, and 8-bit activations with 4-bit weights
            // (CMSIS-NN's s4 kernels are the peer there).
            for (bits, wBits) in [(8, 8), (4, 4), (2, 2), (8, 4)] {
                let key = bits == wBits ? "\(name)\(bits)" : "\(name)\(bits)w\(wBits)"
                let model = try layer(h: h, w: w, cin: cin, cout: cout, k: k, depthwise: dw, bits: bits, wBits: wBits)
                let macs = h * w * cout * k * k * (dw ? 1 : cin)
                let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-kbench-\(UUID().uuidString)")
                defer { try? FileManager.default.removeItem(at: dir) }
                let names = [model.input] + model.layers.map(\.output)
                let arena = ArenaPlan(buffers: names.map { (name: $0, size: model.tensors[$0]!.bytes, first: 0, last: 1) })
                let x = Tensor(shape: [1, cin, h, w], data: (0..<cin * h * w).map { _ in Float.random(in: 0...1) })
                let p = try CEmitter.emit(model: model, arena: arena, name: key, runtime: resources.directory.appendingPathComponent("runtime"), testInput: x)
                try p.write(to: dir)
                let plugin = try ProjectBuild.buildPlugin(source: resources.directory.appendingPathComponent("runtime/qemu/icount.c"), in: dir)
                let r = try ProjectBuild.target(p, profile, flashBudget: p.parameterBytes, ramBudget: p.arenaBytes, in: dir, plugin: plugin) { _ in }
                // The convolution layer alone (QEMU's per-layer count), without copying the input in and the output out.
                guard r.bitExact, let n = r.layerInstructions?.first else { throw UsageError("\(key) did not run bit-exact") }
                out["\(key)InstructionsPerMAC"] = Double(n) / Double(macs)
            }
        }
        return out
    }

    /// One convolution with random codes: `bits` input and output (unsigned in, signed out), `wBits` weights.
    static func layer(h: Int, w: Int, cin: Int, cout: Int, k: Int, depthwise: Bool, bits: Int, wBits: Int) throws -> QuantizedModel {
        let wq = 1 << (wBits - 1)
        let groups = depthwise ? cin : 1
        let taps = k * k * (cin / groups)
        let codes = (0..<cout * taps).map { _ in Int32(Int.random(in: -wq...(wq - 1))) }
        let packed: [UInt8]
        if depthwise {
            var hwc = [Int32](repeating: 0, count: codes.count)
            for c in 0..<cout { for t in 0..<(k * k) { hwc[t * cout + c] = codes[c * k * k + t] } }
            packed = pack(hwc, runs: k * k, runLength: cout, bits: wBits)
        } else {
            packed = pack(codes, runs: cout, runLength: taps, bits: wBits)
        }
        let g = WindowGeometry(inH: h, inW: w, inC: cin, outH: h, outW: w, outC: cout, kH: k, kW: k, strideH: 1, strideW: 1, padTop: k / 2, padLeft: k / 2)
        // M = 2^30 / 2^40 ≈ 0.001: a shift of 32 or more, as in real models (7,037 of 7,050
        // channels of the trained MobileNetV2 fixture), with outputs mostly inside the range.
        let outQ = ActivationQuant(bits: bits, signed: true, scale: 0.1)
        let conv = QConv(geometry: g, groups: groups, depthwise: depthwise, weightBits: wBits, weights: packed, weightScales: [Double](repeating: 1, count: cout),
                         bias: [Int32](repeating: 0, count: cout), multiplier: [Int32](repeating: 1 << 30, count: cout),
                         shift: [Int32](repeating: 40, count: cout), lo: Int32(outQ.qmin), hi: Int32(outQ.qmax), padValue: 0)
        return QuantizedModel(name: "k", input: "x", outputs: ["y"],
                              tensors: ["x": QTensor(name: "x", shape: [1, cin, h, w], quant: ActivationQuant(bits: bits, signed: false, scale: 1 / 255)),
                                        "y": QTensor(name: "y", shape: [1, cout, h, w], quant: outQ)],
                              layers: [QLayer(name: "conv", op: .conv(conv), inputs: ["x"], output: "y")], outputSoftmaxAxis: nil)
    }
}

extension KernelBench {
    /// Milliseconds per inference of the generated C on the host (gcc -O2, timed as 21 runs
    /// minus 1 in one process each) beside the Swift integer engine, for `graph` at uniform 8 bits.
    static func hostTiming(graph: Graph, resources: PipelineResources) throws -> [String: Double] {
        let shape = graph.shape(graph.inputs[0])
        let cal = Calibrator.syntheticInputs(shape: shape, count: 8)
        let stats = try Calibrator.collect(graph: graph, inputs: cal, synthetic: true)
        let model = try Quantizer.quantize(graph: graph, policy: .uniform(8), stats: stats, options: .init(biasCorrection: false))
        let arena = MemoryModel(graph: graph).arena { model.tensors[$0]?.quant.bits ?? 8 }
        let p = try CEmitter.emit(model: model, arena: arena, name: "bench", runtime: resources.directory.appendingPathComponent("runtime"), testInput: cal.item(0))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-hbench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try p.write(to: dir)
        guard let cc = Toolchain.find("cc") else { throw UsageError("no host cc") }
        var seconds: [Int: Double] = [:]
        for n in [1, 21] {
            let exe = "build/run\(n)"
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("build"), withIntermediateDirectories: true)
            let c = try Toolchain.run(cc, ProjectBuild.commonFlags + ["-DNN_HOST", "-DNN_REPEAT=\(n)", "-o", exe] + ProjectBuild.sources(p), in: dir, timeout: 300)
            guard c.ok else { throw UsageError("host build failed: \(c.output)") }
            let t0 = DispatchTime.now()
            let r = try Toolchain.run(dir.appendingPathComponent(exe), [], in: dir, timeout: 3600)
            guard r.ok else { throw UsageError("host run failed: \(r.output)") }
            seconds[n] = Commands.seconds(since: t0)
        }
        let engine = try IntegerEngine(model: model, threads: 1)
        let packed = engine.quantizeInput(cal.item(0))
        _ = try engine.run(packedInput: packed)
        let t0 = DispatchTime.now()
        for _ in 0..<3 { _ = try engine.run(packedInput: packed) }
        let swiftMs = Commands.seconds(since: t0) * 1000 / 3
        return ["hostCMsPerImage": ((seconds[21] ?? 0) - (seconds[1] ?? 0)) * 1000 / 20, "swiftIntegerMsPerImage": swiftMs]
    }
}
