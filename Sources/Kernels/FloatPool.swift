/// Float pooling over NHWC tensors (batch 1). Padded positions are skipped: max ignores them,
/// and average divides by the window area when `countIncludePad` is set, else by the number of
/// real pixels (ONNX `count_include_pad`).

public func maxPool2d(input: UnsafePointer<Float>, g: WindowGeometry, output: UnsafeMutablePointer<Float>) {
    let c = g.outC
    for oy in 0..<g.outH {
        for ox in 0..<g.outW {
            let o = output + (oy &* g.outW &+ ox) &* c
            for ch in 0..<c { o[ch] = -Float.infinity }
            for ky in 0..<g.kH {
                let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                if iy < 0 || iy >= g.inH { continue }
                for kx in 0..<g.kW {
                    let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                    if ix < 0 || ix >= g.inW { continue }
                    let s = input + (iy &* g.inW &+ ix) &* c
                    for ch in 0..<c { o[ch] = max(o[ch], s[ch]) }
                }
            }
        }
    }
}

public func averagePool2d(
    input: UnsafePointer<Float>, g: WindowGeometry, countIncludePad: Bool, output: UnsafeMutablePointer<Float>
) {
    let c = g.outC
    for oy in 0..<g.outH {
        for ox in 0..<g.outW {
            let o = output + (oy &* g.outW &+ ox) &* c
            for ch in 0..<c { o[ch] = 0 }
            var n = 0
            var area = 0
            for ky in 0..<g.kH {
                let iy = oy &* g.strideH &- g.padTop &+ ky &* g.dilationH
                for kx in 0..<g.kW {
                    let ix = ox &* g.strideW &- g.padLeft &+ kx &* g.dilationW
                    // The window is clipped to the padded input (ONNX: pads, then the window).
                    if iy >= g.inH &+ g.padBottom || ix >= g.inW &+ g.padRight { continue }
                    area &+= 1
                    if iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW { continue }
                    n &+= 1
                    let s = input + (iy &* g.inW &+ ix) &* c
                    for ch in 0..<c { o[ch] = o[ch] + s[ch] }
                }
            }
            let inv = 1 / Float(countIncludePad ? area : max(n, 1))
            for ch in 0..<c { o[ch] = o[ch] * inv }
        }
    }
}

/// Mean over H·W of an [H·W][C] tensor.
public func globalAveragePool(input: UnsafePointer<Float>, pixels: Int, channels c: Int, output: UnsafeMutablePointer<Float>) {
    for ch in 0..<c { output[ch] = 0 }
    for p in 0..<pixels {
        let s = input + p &* c
        for ch in 0..<c { output[ch] = output[ch] + s[ch] }
    }
    let inv = 1 / Float(max(pixels, 1))
    for ch in 0..<c { output[ch] = output[ch] * inv }
}
