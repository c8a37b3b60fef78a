/// The linker regions of a Cortex-M test build: the budget plus the target's allowance. The one
/// computation of it, for the Makefile and for `ProjectBuild.target`.
public struct LinkerRegions: Sendable, Equatable {
    /// FLASH region: the budget, the target's code allowance and the test vectors.
    public var flash: Int
    /// RAM region: the budget, the stack, the test runner's output buffer and checksums, 1 KiB slack.
    public var ram: Int
    public var stack: Int

    public init(_ p: CProject, _ t: TargetProfile, flashBudget: Int, ramBudget: Int) {
        stack = t.stackBytes ?? 8192
        flash = flashBudget + (t.codeBytes ?? 65536) + p.vectorBytes
        ram = ramBudget + stack + p.outputBytes + 4 * p.layers + 1024
    }
}
