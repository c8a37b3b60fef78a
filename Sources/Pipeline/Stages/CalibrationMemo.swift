import Foundation
import Quantize

/// The data and calibration statistics of the last model calibrated in this process, shared by
/// the budgets of one run (a sweep's points, a budget list): they depend on the graph and the
/// data files only, not on the budget. One entry, so a run over many models holds one model's
/// data at a time.
final class CalibrationMemo: @unchecked Sendable {
    private let lock = NSLock()
    private var entry: (key: String, data: ModelData, stats: CalibrationStats)?

    func get(_ key: String) -> (ModelData, CalibrationStats)? {
        lock.withLock { entry.flatMap { $0.key == key ? ($0.data, $0.stats) : nil } }
    }

    func set(_ key: String, _ value: (ModelData, CalibrationStats)) {
        lock.withLock { entry = (key, value.0, value.1) }
    }
}
