import Foundation
import Graph

/// `--shard I/N`: splits the jobs of a run (every model × every budget) over N processes or CI
/// runners. The jobs are listed in a fixed order (models sorted by path, each model's budgets in
/// file order) and job k (from 0) goes to shard k mod N + 1, so every shard computes the same
/// assignment from the same inputs and the shards are balanced to one job.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    /// 1...count.
    public var index: Int
    public var count: Int

    /// "2/4" → shard 2 of 4.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 10_000, (1...n).contains(i) else {
            throw UsageError("--shard must be I/N with 1 <= I <= N (e.g. 1/4), got '\(text)'")
        }
        index = i
        count = n
    }

    public var description: String { "\(index)/\(count)" }

    /// The output folders of `jobs` (in job order) this shard runs.
    public func folders(_ jobs: [String]) -> Set<String> {
        Set(jobs.enumerated().filter { $0.offset % count == index - 1 }.map(\.element))
    }
}

extension PipelineRunner {
    /// The output folder of one budget: `MODEL`, or `MODEL.BUDGET` when the model has several.
    static func folder(model: String, budget: Budget, of count: Int) -> String {
        count > 1 ? model + "." + Names.fileName(budget.name ?? "budget") : model
    }

    /// The jobs of a model (its output folders, one per budget, in file order), as `run` would
    /// make them; a budget file that does not load is one job (its error report).
    public func jobs(model: URL) -> [String] {
        let name = Discovery.outputName(model)
        guard let url = options.budget ?? options.resources.flatMap({ BudgetFile.find(model: model, resources: $0) }),
              let budgets = try? BudgetFile.load(url, resources: options.resources), !budgets.isEmpty else { return [name] }
        return budgets.map { Self.folder(model: name, budget: $0, of: budgets.count) }
    }

    /// After the budgets of a model: its sweep summary (`MODEL.sweep/`) when it has several.
    func summarise(model: String, points: [(folder: String, budget: Budget)]) {
        guard points.count > 1, !options.dryRun else { return }
        do {
            let url = try SweepSummary.publish(model: model, points: points, outputDirectory: options.outputDirectory)
            say("\(model): sweep summary -> \(url.path)/summary.html")
        } catch {
            say("warning: \(model): cannot write the sweep summary: \(error)")
        }
    }
}
