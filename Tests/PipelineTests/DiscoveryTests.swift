import Foundation
@testable import Pipeline
import TestSupport
import Testing

/// Which files `run` finds, and the output folder each gets.
@Suite struct DiscoveryTests {
    func tree(_ files: [String]) throws -> URL {
        let dir = Fixtures.temporaryDirectory("discovery")
        for f in files {
            let u = dir.appendingPathComponent(f)
            try FileManager.default.createDirectory(at: u.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data("x".utf8).write(to: u)
        }
        return dir
    }

    @Test func recursiveFindsSubfoldersAndSkipsHiddenAndTemporary() throws {
        let dir = try tree(["top.onnx", "a/m.onnx", "a/deep/n.tflite", ".hidden/h.onnx", "a/.dot.onnx", "a/x.onnx.part", "a/notes.txt"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let names = { (urls: [URL]) in urls.map { String($0.path.dropFirst(dir.standardizedFileURL.path.count + 1)) } }
        #expect(names(try Discovery.models([dir], recursive: true)) == ["a/deep/n.tflite", "a/m.onnx", "top.onnx"])
        #expect(names(try Discovery.models([dir])) == ["top.onnx"])
    }

    @Test(arguments: [["a/m.onnx", "b/m.onnx"], ["m.onnx", "m.tflite"], ["a b.onnx", "a_b.onnx"]])
    func filesSharingAnOutputFolderAreFound(_ pair: [String]) throws {
        let dir = try tree(pair + ["other.onnx"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = try Discovery.models([dir], recursive: true)
        let c = Discovery.collisions(models)
        #expect(c.count == 1)
        #expect(c.values.first?.map(\.lastPathComponent).sorted() == pair.map { URL(fileURLWithPath: $0).lastPathComponent }.sorted())
        let message = Discovery.collisionMessage(c.keys.first ?? "", c.values.first ?? [], output: URL(fileURLWithPath: "/out"))
        #expect(pair.allSatisfy { message.contains($0) }, "\(message)")
    }

    @Test func distinctStemsDoNotCollide() throws {
        let dir = try tree(["a.onnx", "b.onnx", "a.b.onnx", "sub/c.tflite"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(Discovery.collisions(try Discovery.models([dir], recursive: true)).isEmpty)
    }
}
