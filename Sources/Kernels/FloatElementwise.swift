/// Element-wise float kernels for the engine's fast paths: residual additions, squeeze-excite
/// gates (an NHWC activation times a per-channel vector) and plain products.

/// `out[i] = a[i] + b[i]` (`multiply`: `a[i] · b[i]`).
public func elementwise(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int, multiply: Bool
) {
    var i = 0
    if multiply {
        while i &+ 8 <= count { store8(load8(a + i) * load8(b + i), out + i); i = i &+ 8 }
        while i < count { out[i] = a[i] * b[i]; i = i &+ 1 }
    } else {
        while i &+ 8 <= count { store8(load8(a + i) + load8(b + i), out + i); i = i &+ 8 }
        while i < count { out[i] = a[i] + b[i]; i = i &+ 1 }
    }
}

/// NHWC `x` (`pixels` × `channels`) times a per-channel `scale`.
public func scaleChannels(
    _ x: UnsafePointer<Float>, pixels: Int, channels c: Int, scale: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>
) {
    for p in 0..<pixels {
        let s = x + p &* c, o = out + p &* c
        var ch = 0
        while ch &+ 8 <= c { store8(load8(s + ch) * load8(scale + ch), o + ch); ch = ch &+ 8 }
        while ch < c { o[ch] = s[ch] * scale[ch]; ch = ch &+ 1 }
    }
}

/// NCHW → NHWC for one image (`toNHWC`) or back (`toNHWC: false`).
public func transposeImage(
    _ x: UnsafePointer<Float>, channels c: Int, pixels: Int, toNHWC: Bool, _ out: UnsafeMutablePointer<Float>
) {
    if toNHWC {
        for ch in 0..<c {
            let s = x + ch &* pixels
            for p in 0..<pixels { out[p &* c &+ ch] = s[p] }
        }
    } else {
        for ch in 0..<c {
            let o = out + ch &* pixels
            for p in 0..<pixels { o[p] = x[p &* c &+ ch] }
        }
    }
}
