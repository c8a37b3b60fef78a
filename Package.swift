// swift-tools-version:6.0
// tinympq: float CNN + MCU memory budget in, mixed 2/4/8-bit integer-only C out.
import PackageDescription

// The numeric kernels are always built optimised (also in debug builds, so `swift test` runs
// the fixtures at a usable speed) and with wrapping arithmetic over raw pointers. Setting
// TINYMPQ_TARGET_CPU (the Makefile sets `skylake-avx512` when the CPU has AVX-512, else
// `haswell` when it has AVX2 and FMA) lets LLVM use wider vectors and fused multiply-add; the
// float engine is then faster (AVX-512 builds run the GEMM on 16-lane vectors) but the binary
// needs that CPU.
let targetCPU = Context.environment["TINYMPQ_TARGET_CPU"].flatMap { $0.isEmpty ? nil : $0 }
var kernelFlags = ["-O", "-enforce-exclusivity=unchecked"]
if let cpu = targetCPU { kernelFlags += ["-target-cpu", cpu, "-D", "TINYMPQ_FMA"] }
let avx512CPUs: Set = ["skylake-avx512", "cascadelake", "cooperlake", "icelake-server", "sapphirerapids", "znver4", "znver5"]
if let cpu = targetCPU, avx512CPUs.contains(cpu) { kernelFlags += ["-D", "TINYMPQ_AVX512"] }
// The numeric stages (quantizer, memory model, searchers) are also optimised in debug builds:
// the test suite runs whole searches and calibrations, which take minutes at -Onone.
let optimised: [SwiftSetting] = [.unsafeFlags(["-O"])]

let package = Package(
    name: "tinympq",
    platforms: [.macOS(.v14)],
    products: [.executable(name: "tinympq", targets: ["tinympq"]), .executable(name: "tinympq-fuzz", targets: ["tinympq-fuzz"])],
    targets: [
        // Debian's zlib, for deflate-compressed NumPy .npz archives.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        // Debian's libinotifytools (no pkg-config file; the module map links it).
        .systemLibrary(name: "CInotifyTools", providers: [.apt(["libinotifytools0-dev"])]),
        // renameat2 wrappers for atomic publishing of output folders.
        .target(name: "CSupport"),
        .target(name: "Kernels", swiftSettings: [.unsafeFlags(kernelFlags)]),
        .target(name: "Graph", dependencies: ["Kernels"], swiftSettings: optimised),
        .target(name: "Import", dependencies: ["Graph", "CZlib"]),
        .target(name: "Quantize", dependencies: ["Graph", "Kernels"], swiftSettings: optimised),
        .target(name: "Footprint", dependencies: ["Graph"], swiftSettings: optimised),
        .target(name: "Search", dependencies: ["Graph", "Quantize", "Footprint", "Kernels"], swiftSettings: optimised),
        .target(name: "Codegen", dependencies: ["Graph", "Quantize", "Footprint", "Kernels"]),
        .target(name: "Pipeline", dependencies: ["Graph", "Import", "Quantize", "Footprint", "Search", "Codegen", "CSupport"]),
        .target(name: "Watch", dependencies: ["Pipeline", "CInotifyTools"]),
        .executableTarget(name: "tinympq", dependencies: ["Pipeline", "Watch", "Import", "Graph", "Quantize", "Search", "Codegen", "Kernels", "Footprint"]),
        .target(name: "TestSupport", dependencies: ["Graph", "Import", "Codegen"], path: "Tests/TestSupport"),
        // Several of these write to one cache at once in PipelineTests.
        .executableTarget(name: "StoreStress", dependencies: ["Pipeline"], path: "Tests/StoreStress"),
        // The fuzzing harness (issue 17): in-process entry points, and a driver that runs them in children.
        .target(name: "Fuzzing", dependencies: ["Import", "Pipeline", "Quantize", "Graph", "Kernels"]),
        .executableTarget(name: "tinympq-fuzz", dependencies: ["Fuzzing"]),
        .testTarget(name: "GraphTests", dependencies: ["Graph", "Kernels", "TestSupport"]),
        .testTarget(name: "ImportTests", dependencies: ["Import", "Graph", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport"]),
        .testTarget(name: "QuantizeTests", dependencies: ["Quantize", "Footprint", "Graph", "Import", "Kernels", "TestSupport"]),
        .testTarget(name: "CodegenTests", dependencies: ["Codegen", "Quantize", "Footprint", "Graph", "Import", "Kernels", "TestSupport"]),
        .testTarget(name: "WatchTests", dependencies: ["Watch", "Pipeline"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Graph", "Search", "Kernels", "TestSupport"]),
        .testTarget(name: "SearchTests", dependencies: ["Search", "Quantize", "Footprint", "Graph", "Import", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
