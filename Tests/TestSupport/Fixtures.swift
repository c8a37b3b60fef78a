import Foundation
import Graph

/// Paths of the committed test fixtures (made by `Tests/Fixtures/generate.py`).
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The fixture models, each with `NAME.input.npy` and onnxruntime's `NAME.expected.npy`.
    public static let models = ["mobilenet_v1_025_32", "mobilenet_v2_035_32", "mnasnet_035_32", "ops_zoo", "legacy_opset10"]

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// A fresh empty temporary folder.
    public static func temporaryDirectory(_ tag: String = "tinympq") -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("\(tag)-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// The package root (where Package.swift is).
    public static var packageRoot: URL { directory.deletingLastPathComponent().deletingLastPathComponent() }
}

/// max |a − b| / max |b|: the error measure the fixture tests bound.
public func relativeMaxError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = b.map { abs($0) }.max() ?? 0
    let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    return scale > 0 ? err / scale : err
}

/// A small deterministic generator (SplitMix64) for test data.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
