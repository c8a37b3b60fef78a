import Graph
import Kernels

/// What calibration learned about one activation tensor from the float model.
public struct TensorStats: Sendable {
    public var min: Float = .infinity
    public var max: Float = -.infinity
    /// A deterministic, evenly strided subsample of the values (for clipping-range search).
    public var samples: [Float] = []
    /// Mean per channel (axis 1), for bias correction.
    public var channelMeans: [Double] = []
    var channelCount = 0
}

/// Activation statistics over the calibration inputs.
public struct CalibrationStats: Sendable {
    public var tensors: [String: TensorStats]
    public var images: Int
    /// True when no data was given and inputs were synthetic.
    public var synthetic: Bool
}

public enum Calibrator {
    /// Runs the float model over `inputs` (a batch) and records, per tensor, min/max, channel
    /// means and up to `maxSamples` values.
    public static func collect(graph: Graph, inputs: Tensor, synthetic: Bool, maxSamples: Int = 16384, threads: Int = 2,
                               progress: ((String) -> Void)? = nil) throws -> CalibrationStats {
        let engine = try FloatEngine(graph: graph, threads: threads)
        let images = inputs.shape[0]
        var stats: [String: TensorStats] = [:]
        func record(_ name: String, _ t: Tensor) {
            var s = stats[name] ?? TensorStats()
            let channels = t.shape.count >= 2 ? t.shape[1] : 1
            let inner = t.shape.count >= 2 ? t.shape.dropFirst(2).reduce(1, *) : t.count
            if s.channelMeans.isEmpty { s.channelMeans = [Double](repeating: 0, count: channels) }
            var sums = [Double](repeating: 0, count: channels)
            t.data.withUnsafeBufferPointer { d in
                for i in 0..<d.count {
                    let v = d[i]
                    if v < s.min { s.min = v }
                    if v > s.max { s.max = v }
                    sums[(i / inner) % channels] += Double(v)
                }
                let per = Swift.max(1, maxSamples / Swift.max(images, 1))
                let step = Swift.max(1, d.count / per)
                var i = (s.channelCount * 7919) % step  // vary the phase between images
                while i < d.count {
                    s.samples.append(d[i])
                    i += step
                }
            }
            let n = Double(inner)
            for c in 0..<channels { s.channelMeans[c] += sums[c] / n / Double(images) }
            s.channelCount += 1
            stats[name] = s
        }
        let meter = ProgressMeter("calibration", total: images, unit: "images", report: progress)
        for b in 0..<images {
            try Interrupt.check()
            let x = inputs.item(b)
            record(graph.inputs[0], x)
            _ = try engine.run(x) { name, t in record(name, t) }
            meter.advance()
        }
        return CalibrationStats(tensors: stats, images: images, synthetic: synthetic)
    }

    /// Inputs for a model without data: standard-normal values from a fixed seed.
    public static func syntheticInputs(shape: [Int], count: Int, seed: UInt64 = 1) -> Tensor {
        var state = seed
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53)
        }
        let n = shape.dropFirst().reduce(1, *) * count
        var data = [Float](repeating: 0, count: n)
        for i in 0..<n {
            // Box-Muller
            let u = Swift.max(next(), 1e-12), v = next()
            data[i] = Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
        }
        return Tensor(shape: [count] + shape.dropFirst(), data: data)
    }
}

#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
