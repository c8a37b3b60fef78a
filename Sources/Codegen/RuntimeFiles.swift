import Foundation

/// The kernel runtime a generated project ships: every `*.c` and `*.h` of the runtime folder
/// (one kernel file per op, `nnk.h` and the shared lane helpers) into `src/`, the test runner
/// into `test/`, the Cortex-M port into `port/cortex-m/`.
enum RuntimeFiles {
    static func copy(from runtime: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        let names = try FileManager.default.contentsOfDirectory(atPath: runtime.path).sorted()
        for f in names where (f.hasSuffix(".c") || f.hasSuffix(".h")) && f != "test_main.c" {
            files["src/\(f)"] = try Data(contentsOf: runtime.appendingPathComponent(f))
        }
        guard files["src/nnk.h"] != nil else { throw CodegenError("the kernel runtime in \(runtime.lastPathComponent)/ has no nnk.h") }
        files["test/main.c"] = try Data(contentsOf: runtime.appendingPathComponent("test_main.c"))
        for f in ["startup.c", "semihost.c", "link.ld.in"] {
            files["port/cortex-m/\(f)"] = try Data(contentsOf: runtime.appendingPathComponent("port/cortex-m/\(f)"))
        }
        return files
    }

    /// The runtime's C files among `files`, in a fixed order.
    static func kernelSources(_ files: [String: Data]) -> [String] {
        files.keys.filter { $0.hasPrefix("src/nnk") && $0.hasSuffix(".c") }.sorted()
    }
}
