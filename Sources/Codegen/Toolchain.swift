import Dispatch
import Foundation

/// What a finished program did: its exit status, whether it was stopped at the time limit, and
/// its output.
public struct ToolRun: Sendable {
    public var command: [String]
    public var status: Int32
    public var timedOut: Bool
    /// Standard output, with standard error interleaved unless it was asked for separately.
    public var output: String
    /// Standard error when run with `separateErrorOutput`, else empty.
    public var errorOutput: String = ""

    public var ok: Bool { status == 0 && !timedOut }
}

public enum Toolchain {
    /// The first executable named `name` on PATH.
    public static func find(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let u = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: u.path) { return u }
        }
        return nil
    }

    /// Runs a program with an argument array (never a shell) and waits for it through a
    /// termination handler (not `waitUntilExit`); output is collected through files, so a large
    /// output cannot dead-lock on a full pipe. Past `timeout` seconds it gets SIGTERM, 2 s later
    /// SIGKILL. The one process runner of the tool and of the tests.
    public static func run(_ tool: URL, _ args: [String], in dir: URL? = nil, timeout: Double, environment: [String: String]? = nil,
                           separateErrorOutput: Bool = false) throws -> ToolRun {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("tinympq-run-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = tool
        p.arguments = args
        if let dir { p.currentDirectoryURL = dir }
        if let environment { p.environment = environment }
        let outHandle = try FileHandle(forWritingTo: out)
        let errHandle = separateErrorOutput ? try FileHandle(forWritingTo: err) : outHandle
        p.standardOutput = outHandle
        p.standardError = errHandle
        p.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        p.terminationHandler = { _ in done.signal() }
        try p.run()
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            p.terminate()
            if done.wait(timeout: .now() + 2) == .timedOut {
                kill(p.processIdentifier, SIGKILL)
                done.wait()
            }
        }
        try? outHandle.close()
        if separateErrorOutput { try? errHandle.close() }
        func text(_ u: URL) -> String { String(decoding: (try? Data(contentsOf: u)) ?? Data(), as: UTF8.self) }
        return ToolRun(command: [tool.lastPathComponent] + args, status: p.terminationStatus, timedOut: timedOut, output: text(out),
                       errorOutput: separateErrorOutput ? text(err) : "")
    }
}

extension ProjectBuild {
    /// What the counting plugin saw in one QEMU run.
    struct InstructionCount {
        var total: Int
        /// Per layer hook call: the layer's instructions, without the hook.
        var layers: [Int]
        /// Instructions inside the test runner's checksum hook, in total.
        var hook: Int
    }

    /// Executed guest instructions of one QEMU run under the counting plugin; per layer when
    /// `symbols` gives the addresses of the run function, the hook and its resume marker.
    static func count(_ qemu: URL, _ args: [String], elf: String, plugin: URL, symbols: [String: String], dir: URL) throws -> InstructionCount? {
        let logFile = dir.appendingPathComponent("build/icount-\(UUID().uuidString).log")
        let pluginArg = ([plugin.path] + symbols.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: ",")
        let r = try Toolchain.run(qemu, args + ["-plugin", pluginArg, "-d", "plugin", "-D", logFile.path, "-kernel", elf], in: dir, timeout: 600)
        defer { try? FileManager.default.removeItem(at: logFile) }
        guard r.ok, let text = try? String(contentsOf: logFile, encoding: .utf8) else { return nil }
        var c = InstructionCount(total: -1, layers: [], hook: 0)
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[1]) else { continue }
            switch parts[0] {
            case "insns:": c.total = n
            case "layer:": c.layers.append(n)
            case "hook:": c.hook = n
            default: break
            }
        }
        return c.total >= 0 ? c : nil
    }

    /// Addresses of functions in an ELF file, from `arm-none-eabi-nm`.
    static func functionAddresses(_ elf: String, _ names: [String: String], dir: URL) throws -> [String: String] {
        guard let nm = Toolchain.find("arm-none-eabi-nm") else { return [:] }
        let r = try Toolchain.run(nm, [elf], in: dir, timeout: 60)
        var out: [String: String] = [:]
        for line in r.output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 3, let key = names.first(where: { $0.value == parts[2] })?.key else { continue }
            out[key] = "0x" + parts[0]
        }
        return out.count == names.count ? out : [:]
    }
}

/// One Cortex-M target: how to compile for it and which QEMU machine runs it.
public struct TargetProfile: Sendable, Codable {
    public var name: String
    public var core: String
    public var qemuMachine: String
    public var gccFlags: [String]
    /// FLASH the linker region adds to the budget for code, constants and test vectors.
    public var codeBytes: Int?
    /// RAM added to the budget for the stack and the test harness.
    public var stackBytes: Int?
}

/// Builds and runs a generated project: host first (always), then each Cortex-M target whose
/// toolchain and emulator are installed.
public enum ProjectBuild {
    public static let commonFlags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-fno-strict-aliasing", "-Iinclude", "-Isrc"]

    public static func sources(_ p: CProject) -> [String] {
        p.sources
    }

    public struct HostResult: Sendable, Codable {
        public var compiled: Bool
        public var bitExact: Bool
        public var output: String
    }

    public static func host(_ p: CProject, in dir: URL, log: (String) -> Void) throws -> HostResult {
        guard let cc = Toolchain.find("cc") ?? Toolchain.find("gcc") ?? Toolchain.find("clang") else {
            throw CodegenError("no host C compiler (cc) on PATH")
        }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("build/host"), withIntermediateDirectories: true)
        let args = commonFlags + ["-DNN_HOST", "-o", "build/host/test"] + sources(p)
        log("host: \(cc.lastPathComponent) \(args.joined(separator: " "))")
        let c = try Toolchain.run(cc, args, in: dir, timeout: 300)
        guard c.ok else {
            log("host compile failed:\n\(c.output)")
            return HostResult(compiled: false, bitExact: false, output: c.output)
        }
        let r = try Toolchain.run(dir.appendingPathComponent("build/host/test"), [], in: dir, timeout: 600)
        log("host run (exit \(r.status)\(r.timedOut ? ", timed out" : "")):\n\(r.output)")
        return HostResult(compiled: true, bitExact: r.ok && r.output.contains("RESULT OK"), output: r.output)
    }

    public struct TargetResult: Sendable, Codable {
        public var target: String
        public var built: Bool
        public var ran: Bool
        public var bitExact: Bool
        /// Section sizes from `arm-none-eabi-size -A`.
        public var sections: [String: Int]
        public var linkerMessage: String?
        public var skipped: String?
        /// Guest instructions of one inference (the difference of one and two inferences under
        /// the counting plugin, less the test runner's checksum hook); instructions, not cycles.
        public var instructionsPerInference: Int?
        /// Instructions of each layer in one inference, in layer order.
        public var layerInstructions: [Int]?
    }

    /// Builds the QEMU instruction-counting plugin with the host compiler.
    public static func buildPlugin(source: URL, in dir: URL) throws -> URL? {
        guard let cc = Toolchain.find("cc") ?? Toolchain.find("gcc"), FileManager.default.fileExists(atPath: source.path) else { return nil }
        let out = dir.appendingPathComponent("build/icount.so")
        try FileManager.default.createDirectory(at: out.deletingLastPathComponent(), withIntermediateDirectories: true)
        let r = try Toolchain.run(cc, ["-shared", "-fPIC", "-O2", "-o", out.path, source.path], in: dir, timeout: 120)
        return r.ok ? out : nil
    }

    public static func target(_ p: CProject, _ t: TargetProfile, flashBudget: Int, ramBudget: Int, in dir: URL, plugin: URL? = nil,
                              log: (String) -> Void) throws -> TargetResult {
        guard let gcc = Toolchain.find("arm-none-eabi-gcc"), let size = Toolchain.find("arm-none-eabi-size") else {
            log("\(t.name): skipped, arm-none-eabi-gcc is not installed (scripts/deps.sh installs it)")
            return TargetResult(target: t.name, built: false, ran: false, bitExact: false, sections: [:], skipped: "arm-none-eabi-gcc not installed")
        }
        let regions = LinkerRegions(p, t, flashBudget: flashBudget, ramBudget: ramBudget)
        let (flash, ram, stack) = (regions.flash, regions.ram, regions.stack)
        let ld = String(decoding: try Data(contentsOf: dir.appendingPathComponent("port/cortex-m/link.ld.in")), as: UTF8.self)
            .replacingOccurrences(of: "@FLASH@", with: String(flash)).replacingOccurrences(of: "@RAM@", with: String(ram))
            .replacingOccurrences(of: "@STACK@", with: String(stack))
        let outDir = "build/\(t.name)"
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(outDir), withIntermediateDirectories: true)
        try Data(ld.utf8).write(to: dir.appendingPathComponent("\(outDir)/link.ld"))
        func gccArgs(_ elf: String, _ extra: [String]) -> [String] {
            t.gccFlags + commonFlags + extra + ["-ffreestanding", "-nostdlib", "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections",
                                                "-T", "\(outDir)/link.ld", "-Wl,--print-memory-usage", "-o", elf]
                + sources(p) + ["port/cortex-m/startup.c", "port/cortex-m/semihost.c", "-lgcc"]
        }
        let args = gccArgs("\(outDir)/test.elf", [])
        log("\(t.name): arm-none-eabi-gcc \(args.joined(separator: " "))")
        let c = try Toolchain.run(gcc, args, in: dir, timeout: 300)
        log(c.output)
        guard c.ok else {
            let msg = c.output.split(separator: "\n").filter { $0.contains("region") || $0.contains("error") }.joined(separator: "\n")
            return TargetResult(target: t.name, built: false, ran: false, bitExact: false, sections: [:], linkerMessage: msg.isEmpty ? c.output : msg)
        }
        let s = try Toolchain.run(size, ["-A", "\(outDir)/test.elf"], in: dir, timeout: 60)
        var sections: [String: Int] = [:]
        for line in s.output.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count >= 3, parts[0].hasPrefix("."), let n = Int(parts[1]) { sections[String(parts[0])] = n }
        }
        log("\(t.name) sections: \(sections.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
        guard let qemu = Toolchain.find("qemu-system-arm") else {
            log("\(t.name): not run, qemu-system-arm is not installed")
            return TargetResult(target: t.name, built: true, ran: false, bitExact: false, sections: sections, skipped: "qemu-system-arm not installed")
        }
        let qemuArgs = ["-M", t.qemuMachine, "-cpu", t.core, "-nographic", "-monitor", "none", "-serial", "none",
                        "-semihosting-config", "enable=on,target=native"]
        let r = try Toolchain.run(qemu, qemuArgs + ["-kernel", "\(outDir)/test.elf"], in: dir, timeout: 600)
        log("\(t.name) on qemu \(t.qemuMachine) (exit \(r.status)\(r.timedOut ? ", timed out" : "")):\n\(r.output)")
        var result = TargetResult(target: t.name, built: true, ran: !r.timedOut, bitExact: r.ok && r.output.contains("RESULT OK"), sections: sections)
        // Instructions per inference: one run against two, under the counting plugin.
        if let plugin, result.bitExact {
            let two = try Toolchain.run(gcc, gccArgs("\(outDir)/test2.elf", ["-DNN_REPEAT=2"]), in: dir, timeout: 300)
            let symbols = try functionAddresses("\(outDir)/test.elf", ["start": "\(p.identifier)_run", "hook": "nn_layer_done", "resume": "nn_count_resume"], dir: dir)
            if two.ok, let n1 = try count(qemu, qemuArgs, elf: "\(outDir)/test.elf", plugin: plugin, symbols: symbols, dir: dir),
               let n2 = try count(qemu, qemuArgs, elf: "\(outDir)/test2.elf", plugin: plugin, symbols: [:], dir: dir), n2.total > n1.total {
                result.instructionsPerInference = n2.total - n1.total - n1.hook
                // The first hook call marks the input copied in; each later one ends a layer.
                if n1.layers.count == p.layers + 1 { result.layerInstructions = Array(n1.layers.dropFirst()) }
                log("\(t.name): \(n2.total - n1.total - n1.hook) instructions per inference (QEMU instruction count, not cycles; \(n1.layers.count) layers counted)")
            }
        }
        return result
    }
}
