import Foundation
import Graph
import Import
import Kernels
import Quantize
import TestSupport
import Testing

/// Real weights never fail the quantizer: the dead-channel fixture (Tests/Fixtures/
/// generate_dead_channel.py) has all-zero, near-dead and denormal channels, a bias beyond int32
/// at the natural scale, denormal BatchNorm variances, a zero-everywhere activation and an
/// all-zero fully connected row.
@Suite struct DeadChannelTests {
    func load() throws -> (Graph, Tensor, [Float]) {
        let g = try ModelFile.load(Fixtures.url("dead_channel.onnx"))
        let x = try #require(NumPy.load(Fixtures.url("dead_channel.input.npy"))["x"]).tensor
        return (g, x, try NumPyFile.floats(Fixtures.url("dead_channel.expected.npy")))
    }

    @Test(arguments: [8, 4, 2])
    func quantizesWithNotesNamingTheChannels(bits: Int) throws {
        let (g, x, _) = try load()
        let stats = try Calibrator.collect(graph: g, inputs: x, synthetic: false)
        var policy = Policy.uniform(8)
        for w in Quantizer.policyTargets(g).weights { policy.weightBits[w] = bits }
        let model = try Quantizer.quantize(graph: g, policy: policy, stats: stats)
        let notes = model.notes.joined(separator: "\n")
        #expect(notes.contains("node 'conv1'") && notes.contains("all-zero weights in channels 2"), "\(notes)")
        #expect(notes.contains("near-dead channels 5, 6") || notes.contains("channels 5"), "\(notes)")
        #expect(notes.contains("node 'fc'") && notes.contains("all-zero weights in channels 3"), "\(notes)")
        // Every bias and multiplier is in range, and the engine runs.
        for l in model.layers { if case .conv(let c) = l.op { #expect(c.bias.allSatisfy { abs($0) < 1 << 30 }) } }
        let out = try IntegerEngine(model: model).run(x)
        #expect(out[0].data.allSatisfy { $0.isFinite })
    }

    @Test func eightBitOutputsStayCloseToFloat() throws {
        let (g, x, expected) = try load()
        let stats = try Calibrator.collect(graph: g, inputs: x, synthetic: false)
        let model = try Quantizer.quantize(graph: g, policy: .uniform(8), stats: stats)
        let y = try IntegerEngine(model: model).run(x)[0].data
        // Channel 5's constant output (its bias of 3.0) survives: the channel's scale was raised,
        // not its bias clamped.
        #expect(relativeMaxError(y, expected) < 0.05, "\(y) vs \(expected)")
    }

    @Test func goesThroughEveryStage() throws {
        let dir = Fixtures.temporaryDirectory("dead")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Fixtures.url("dead_channel.onnx"), to: dir.appendingPathComponent("dead_channel.onnx"))
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path, "--bits", "8"], timeout: 900)
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")
        let folder = out.appendingPathComponent("dead_channel")
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("report.json"))) as? [String: Any] ?? [:]
        let codegen = try #require(report["codegen"] as? [String: Any])
        #expect(codegen["hostBitExact"] as? Bool == true)
        let log = try String(contentsOf: folder.appendingPathComponent("logs/03-quantize.log"), encoding: .utf8)
        #expect(log.contains("adjusted: node 'conv1'"), "\(log)")
    }
}
