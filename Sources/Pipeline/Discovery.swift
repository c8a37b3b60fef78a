import Foundation
import Graph
import Import

/// Finds the model files a run should process, and names their output folders.
public enum Discovery {
    public static let modelExtensions = ModelFile.extensions

    /// Names editors, downloaders and atomic writers use while a file is incomplete.
    public static func isTemporaryName(_ name: String) -> Bool {
        name.hasPrefix(".") || name.hasSuffix("~") || name == "4913"
            || [".part", ".tmp", ".swp", ".swx", ".crdownload"].contains { name.hasSuffix($0) }
    }

    static func isModel(_ url: URL) -> Bool {
        modelExtensions.contains(url.pathExtension.lowercased()) && !isTemporaryName(url.lastPathComponent)
    }

    /// Models in the given folders and files, sorted by path. Folders are searched recursively
    /// when `recursive` (as the watcher watches them: hidden files and folders are skipped),
    /// else only their top level. A file given explicitly that is not a model is an error;
    /// non-model files in folders are skipped.
    public static func models(_ paths: [URL], recursive: Bool = false) throws -> [URL] {
        var out: [URL] = []
        for p in paths {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: p.path, isDirectory: &isDir) else {
                throw UsageError("no such file or folder: \(p.path)")
            }
            if isDir.boolValue {
                if recursive {
                    let e = FileManager.default.enumerator(at: p, includingPropertiesForKeys: [.isRegularFileKey], options: [.skipsHiddenFiles])
                    while let u = e?.nextObject() as? URL {
                        if isModel(u), (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { out.append(u) }
                    }
                } else {
                    out += try FileManager.default.contentsOfDirectory(at: p, includingPropertiesForKeys: nil).filter(isModel)
                }
            } else {
                guard modelExtensions.contains(p.pathExtension.lowercased()) else {
                    throw UsageError("\(p.lastPathComponent) is not a model file (expected \(modelExtensions.sorted().map { "." + $0 }.joined(separator: ", ")))")
                }
                out.append(p)
            }
        }
        return Array(Set(out.map(\.standardizedFileURL))).sorted { $0.path < $1.path }
    }

    /// The output folder of a model: its file stem with anything but letters, digits, `-`, `_`
    /// and `.` replaced by `_` (`Names.fileName`). Different files can share it (`a/m.onnx` and
    /// `b/m.onnx`, `m.onnx` and `m.tflite`, `a b.onnx` and `a_b.onnx`): `collisions` finds them
    /// before a run, and publishing refuses to replace a folder another existing file wrote.
    public static func outputName(_ model: URL) -> String {
        Names.fileName(model.deletingPathExtension().lastPathComponent)
    }

    /// Output folder names that two or more of `models` would publish to, with those files.
    public static func collisions(_ models: [URL]) -> [String: [URL]] {
        Dictionary(grouping: models, by: outputName).filter { $0.value.count > 1 }
    }

    /// The message for files that would publish to one folder.
    public static func collisionMessage(_ name: String, _ files: [URL], output: URL) -> String {
        let list = files.map(\.path)
        return "\(list.dropLast().joined(separator: ", ")) and \(list.last ?? "") would \(files.count == 2 ? "both" : "all") publish to \(output.appendingPathComponent(name).path)/; "
            + "nothing was written for them: rename all but one (output folders are named after the file's stem)"
    }
}

/// A mistake in how tinympq was called (exit code 2).
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ m: String) { description = m }
}
