import Foundation
import Graph

/// Model files by format: the one place that maps a file name to its importer.
public enum ModelFile {
    /// The model file extensions tinympq reads.
    public static let extensions: Set<String> = ["onnx", "tflite"]
    /// The largest model file we read: far above any MCU-sized network.
    public static let maxFileBytes = 2_000_000_000

    /// `inputShape` overrides the model's input shape; `dataShape` (the shape of the data it
    /// will run on, in the model's layout) fixes only the dimensions the model leaves free.
    public static func load(_ url: URL, inputShape: [Int]? = nil, dataShape: [Int]? = nil) throws -> Graph {
        switch url.pathExtension.lowercased() {
        case "onnx": return try OnnxImporter.load(url, inputShape: inputShape, dataShape: dataShape)
        case "tflite": return try TFLiteImporter.load(url, inputShape: inputShape)
        default:
            throw ImportError(file: url.lastPathComponent, "unsupported model format '.\(url.pathExtension)' (expected .onnx or .tflite)")
        }
    }

    /// The file's bytes, refusing files over `maxFileBytes`.
    static func read(_ url: URL) throws -> [UInt8] {
        let file = url.lastPathComponent
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxFileBytes else { throw ImportError(file: file, "file is \(size) bytes, larger than the \(maxFileBytes)-byte limit") }
            return [UInt8](try Data(contentsOf: url))
        } catch let e as ImportError {
            throw e
        } catch {
            throw ImportError(file: file, "cannot read the file: \(error.localizedDescription)")
        }
    }
}
