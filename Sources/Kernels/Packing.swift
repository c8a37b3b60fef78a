/// Sub-byte packing, the one rule used everywhere (Swift tensors, weight blobs, C kernels, test
/// vectors): element i of a packed run sits in byte ⌊i·b/8⌋ at bit offset (i mod 8/b)·b,
/// LSB-first; signed values are two's complement in b bits. A run (one pixel's channel vector,
/// one weight row) always starts on a byte boundary and is zero-padded to a whole byte.

/// Bytes one run of `count` b-bit elements occupies.
@inline(__always)
public func packedBytes(count: Int, bits: Int) -> Int { (count &* bits &+ 7) / 8 }

/// Packs `runs` runs of `runLength` values each (`values` has runs·runLength entries).
public func pack(_ values: UnsafePointer<Int32>, runs: Int, runLength: Int, bits: Int, into out: UnsafeMutablePointer<UInt8>) {
    let stride = packedBytes(count: runLength, bits: bits)
    let mask = Int32((1 << bits) &- 1)
    for r in 0..<runs {
        let dst = out + r &* stride
        for i in 0..<stride { dst[i] = 0 }
        let src = values + r &* runLength
        for i in 0..<runLength {
            let bit = i &* bits
            dst[bit >> 3] |= UInt8(truncatingIfNeeded: (src[i] & mask) << Int32(bit & 7))
        }
    }
}

/// Unpacks runs into Int32 values, sign-extending when `signed`.
public func unpack(_ packed: UnsafePointer<UInt8>, runs: Int, runLength: Int, bits: Int, signed: Bool, into out: UnsafeMutablePointer<Int32>) {
    let stride = packedBytes(count: runLength, bits: bits)
    let mask = Int32((1 << bits) &- 1)
    let signBit = Int32(1) << Int32(bits &- 1)
    for r in 0..<runs {
        let src = packed + r &* stride
        let dst = out + r &* runLength
        for i in 0..<runLength {
            let bit = i &* bits
            var v = (Int32(src[bit >> 3]) >> Int32(bit & 7)) & mask
            if signed && (v & signBit) != 0 { v = v &- (mask &+ 1) }
            dst[i] = v
        }
    }
}

/// Swift-array conveniences over `pack`/`unpack`.
public func pack(_ values: [Int32], runs: Int, runLength: Int, bits: Int) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: runs * packedBytes(count: runLength, bits: bits))
    values.withUnsafeBufferPointer { v in
        out.withUnsafeMutableBufferPointer { o in pack(v.baseAddress!, runs: runs, runLength: runLength, bits: bits, into: o.baseAddress!) }
    }
    return out
}

public func unpack(_ packed: [UInt8], runs: Int, runLength: Int, bits: Int, signed: Bool) -> [Int32] {
    var out = [Int32](repeating: 0, count: runs * runLength)
    guard !out.isEmpty else { return out }
    packed.withUnsafeBufferPointer { p in
        out.withUnsafeMutableBufferPointer { o in
            unpack(p.baseAddress!, runs: runs, runLength: runLength, bits: bits, signed: signed, into: o.baseAddress!)
        }
    }
    return out
}
