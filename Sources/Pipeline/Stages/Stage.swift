import Foundation
import Kernels

/// Something whose result is cached under a key made of what it declares it depends on: a
/// pipeline stage, or a sub-step of one with a cache entry of its own (the sensitivity table).
protocol CachedStep {
    /// Its name in logs and in the cache (`runs/<name>/`).
    static var name: String { get }
    /// Bump when what the step produces for the same inputs changes (a new algorithm, a fix).
    static var implementationVersion: Int { get }
    /// What the result depends on; each becomes one component of the key.
    static var inputs: [StageInput] { get }
}

extension CachedStep {
    /// The key components: the step, its version, the digest of the running executable and
    /// one entry per declared input. The key is the SHA-256 of their canonical JSON.
    static func key(_ c: StageContext) throws -> [String: String] {
        var k = ["stage": name, "impl": String(implementationVersion), "tool": CodeDigest.executable]
        for i in inputs { k[i.rawValue] = try c.value(of: i) }
        return k
    }
}

/// One stage of the pipeline: a numbered step that writes `logs/NN-name.log` and part of the
/// output folder, run by `PipelineRunner` from `PipelineStages.table`.
protocol PipelineStage: CachedStep {
    static var number: Int { get }
    /// False when the stage does not apply to this run (codegen after a failed accuracy gate).
    static func applies(_ c: StageContext) -> Bool
    static func run(_ c: StageContext, log: StageLog) throws -> StageOutput
}

extension PipelineStage {
    static func applies(_ c: StageContext) -> Bool { true }
}

/// The stages in order; `--until` names one of them.
enum PipelineStages {
    static let table: [any PipelineStage.Type] = [ParseStage.self, SearchStage.self, QuantizeStage.self, ValidateStage.self, CodegenStage.self]
}

/// What a stage's result can depend on. The raw value is the key component's name; the
/// description is how a log says it changed.
enum StageInput: String, CaseIterable, Sendable {
    /// The model file's content.
    case model
    /// `--input-shape` or the budget's `inputShape`.
    case inputShape
    /// The shape of the calibration data's `x` (fixes free input dimensions).
    case dataShape
    /// The parsed graph: the model file, the input shape and the data's shape.
    case graph
    /// The budget fields the search reads (not its file name, data files, gate or target).
    case budget
    /// The budget's FLASH and RAM (the linker script's regions).
    case memoryBudget
    /// The bit-widths the sensitivity table is measured at.
    case sensitivityBits
    /// The budget's weight rounding (`nearest`, `hessian`).
    case rounding
    case calibration
    case validation
    /// A policy file or `--bits` that replaces the search.
    case given
    /// The search's `policy.json`.
    case policy
    /// The quantizer's integer model, with and without bias correction.
    case quantized
    case plain
    /// `maxAccuracyDrop`.
    case gate
    /// The output folder's name (the generated C's identifiers).
    case outputName
    /// The C runtime codegen ships (`pipeline/runtime/`).
    case runtime
    /// The targets codegen builds for, by name, and every target profile by content.
    case targets
    /// Which host compiler, cross compiler and emulator are installed.
    case toolchain

    var description: String {
        switch self {
        case .model: "the model file"
        case .inputShape: "the input shape"
        case .dataShape: "the shape of the data"
        case .graph: "the parsed graph"
        case .budget: "the budget"
        case .memoryBudget: "the budget's FLASH or RAM"
        case .sensitivityBits: "the bit-widths"
        case .rounding: "the weight rounding"
        case .calibration: "the calibration data"
        case .validation: "the validation data"
        case .given: "the given policy"
        case .policy: "the policy"
        case .quantized, .plain: "the quantized model"
        case .gate: "the accuracy gate"
        case .outputName: "the output name"
        case .runtime: "the C runtime"
        case .targets: "the targets or their profiles"
        case .toolchain: "the installed toolchain"
        }
    }

    /// How a log names a key component that changed.
    static func describe(_ component: String) -> String {
        switch component {
        case "tool": "the tool (its executable)"
        case "impl": "the stage implementation"
        default: StageInput(rawValue: component)?.description ?? component
        }
    }
}
