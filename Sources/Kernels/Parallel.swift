import Dispatch

/// Splits `0..<count` into at most `threads` contiguous chunks and runs `body` on each, in parallel
/// when `threads > 1`. Chunks are whole multiples of `grain` (except the last), so callers can keep
/// register blocks intact.
///
/// The kernels call this with raw pointers captured in `body`; every chunk writes a disjoint range
/// of the output, which is what makes the unsynchronised writes safe.
public func parallelChunks(_ count: Int, threads: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let units = (count + grain - 1) / grain
    let parts = max(1, min(threads, units))
    if parts == 1 {
        body(0..<count)
        return
    }
    let perPart = (units + parts - 1) / parts
    withoutActuallyEscaping(body) { escaping in
        let shared = UncheckedSendable(escaping)
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let lo = min(count, part * perPart * grain)
            let hi = min(count, (part + 1) * perPart * grain)
            if lo < hi { shared.value(lo..<hi) }
        }
    }
}

/// Carries a value that is safe to share by construction (see `parallelChunks`) into a
/// `@Sendable` closure.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}

/// How the kernels were built; float results differ in the last bits between flavours, so the
/// pipeline puts this in its cache keys.
public enum KernelBuild {
    #if TINYMPQ_AVX512
    public static let flavour = "avx512"
    #elseif TINYMPQ_FMA
    public static let flavour = "fma"
    #else
    public static let flavour = "portable"
    #endif
}

/// The tool's version, in reports, cache keys and generated code.
public enum ToolInfo {
    public static let version = "0.1.0"
}
