import Graph

/// Places activation buffers in one static arena, TFLM's greedy way:
///
/// 1. Sort buffers by size, largest first (ties: earlier first use, then index).
/// 2. Place each at the lowest offset where it overlaps no already-placed buffer whose
///    lifetime intersects its own.
///
/// The same placement is also tried in order of first use (a ping-pong layout for chains),
/// and the smaller arena is kept. Not guaranteed optimal; the lower bound (the largest sum of
/// simultaneously live buffers) is reported beside it, and the gap is fragmentation.
public struct ArenaPlan: Sendable, Equatable {
    public struct Buffer: Sendable, Equatable {
        public var name: String
        public var size: Int
        /// First and last step (inclusive) at which the buffer must hold its data.
        public var first: Int
        public var last: Int
        public var offset: Int
    }

    public var buffers: [Buffer]
    public var arenaBytes: Int
    /// max over steps of Σ sizes of buffers live at that step.
    public var lowerBound: Int
    /// The step where the lower bound is reached.
    public var peakStep: Int

    /// Arena alignment of every buffer (bytes).
    public static let alignment = IntegerLayout.arenaAlignment

    public init(buffers input: [(name: String, size: Int, first: Int, last: Int)]) {
        let aligned = input.map { (name: $0.name, size: IntegerLayout.aligned($0.size), first: $0.first, last: $0.last) }
        func place(_ order: [Int]) -> [Buffer] {
            var placed: [Buffer] = []
            for i in order {
                let b = aligned[i]
                // Placed buffers alive at the same time, by offset.
                let clashes = placed.filter { $0.first <= b.last && b.first <= $0.last }.sorted { $0.offset < $1.offset }
                var offset = 0
                for c in clashes {
                    if offset + b.size <= c.offset { break }
                    offset = max(offset, c.offset + c.size)
                }
                placed.append(Buffer(name: b.name, size: b.size, first: b.first, last: b.last, offset: offset))
            }
            return placed
        }
        let bySize = place(aligned.indices.sorted { a, b in
            let x = aligned[a], y = aligned[b]
            if x.size != y.size { return x.size > y.size }
            if x.first != y.first { return x.first < y.first }
            return a < b
        })
        let byFirstUse = place(aligned.indices.sorted { a, b in
            let x = aligned[a], y = aligned[b]
            if x.first != y.first { return x.first < y.first }
            if x.size != y.size { return x.size > y.size }
            return a < b
        })
        func extent(_ p: [Buffer]) -> Int { p.map { $0.offset + $0.size }.max() ?? 0 }
        let placed = extent(byFirstUse) < extent(bySize) ? byFirstUse : bySize
        buffers = input.indices.map { i in placed.first { $0.name == aligned[i].name && $0.first == aligned[i].first }! }
        arenaBytes = placed.map { $0.offset + $0.size }.max() ?? 0
        let (best, bestStep) = Self.peakLive(aligned.map { (size: $0.size, first: $0.first, last: $0.last) })
        lowerBound = best
        peakStep = bestStep
    }

    /// The live-bytes bound: max over steps of the summed sizes of the buffers live at that step
    /// (lifetimes inclusive), and the first step where it is reached. The one computation of it:
    /// the planner reports it, the memory model and the searchers' index ask it.
    /// - Complexity: O(buffers + steps).
    public static func peakLive(_ buffers: [(size: Int, first: Int, last: Int)]) -> (bytes: Int, step: Int) {
        let steps = (buffers.map(\.last).max() ?? 0) + 2
        var delta = [Int](repeating: 0, count: Swift.max(steps, 2))
        for b in buffers {
            delta[b.first] += b.size
            delta[b.last + 1] -= b.size
        }
        var live = 0, best = 0, bestStep = 0
        for (s, d) in delta.enumerated() {
            live += d
            if live > best {
                best = live
                bestStep = s
            }
        }
        return (best, bestStep)
    }

    /// True when two buffers that are alive at the same step share bytes (must never happen).
    public var hasOverlap: Bool {
        for (i, a) in buffers.enumerated() {
            for b in buffers[(i + 1)...] where a.first <= b.last && b.first <= a.last {
                if a.offset < b.offset + b.size && b.offset < a.offset + a.size && a.size > 0 && b.size > 0 { return true }
            }
        }
        return false
    }
}
