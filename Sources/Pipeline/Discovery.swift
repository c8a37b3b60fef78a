import Foundation
import Import

/// Finds the model files a run should process.
public enum Discovery {
    public static let modelExtensions = ModelFile.extensions

    /// Names editors, downloaders and atomic writers use while a file is incomplete.
    public static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix("~") || name == "4913"
            || [".part", ".tmp", ".swp", ".swx", ".crdownload"].contains { name.hasSuffix($0) }
    }

    /// Models in the given folders (not recursive) and files, sorted by path. A file given
    /// explicitly that is not a model is an error; non-model files in folders are skipped.
    public static func models(_ paths: [URL]) throws -> [URL] {
        var out: [URL] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p.path, isDirectory: &isDir) else {
                throw UsageError("no such file or folder: \(p.path)")
            }
            if isDir.boolValue {
                let items = try FileManager.default.contentsOfDirectory(at: p, includingPropertiesForKeys: nil)
                out += items.filter { modelExtensions.contains($0.pathExtension.lowercased()) && !isTemporaryName($0.lastPathComponent) }
            } else {
                guard modelExtensions.contains(p.pathExtension.lowercased()) else {
                    throw UsageError("\(p.lastPathComponent) is not a model file (expected \(modelExtensions.sorted().map { "." + $0 }.joined(separator: ", ")))")
                }
                out.append(p)
            }
        }
        return out.map(\.standardizedFileURL).sorted { $0.path < $1.path }
    }
}

/// A mistake in how tinympq was called (exit code 2).
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ m: String) { description = m }
}
