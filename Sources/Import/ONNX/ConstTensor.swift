import Foundation

/// A constant during import: float weights, or the int64 arithmetic of shape sub-graphs.
struct ConstTensor {
    enum Values {
        case float([Float])
        case int([Int64])
    }

    var shape: [Int]
    var values: Values

    var count: Int {
        switch values {
        case .float(let v): return v.count
        case .int(let v): return v.count
        }
    }

    var isFloat: Bool { if case .float = values { return true } else { return false } }

    var floats: [Float] {
        switch values {
        case .float(let v): return v
        case .int(let v): return v.map { Float($0) }
        }
    }

    var ints: [Int64] {
        switch values {
        case .float(let v): return v.map { $0.isFinite ? Int64(clamping: Int($0.rounded(.towardZero))) : 0 }
        case .int(let v): return v
        }
    }

    /// Keeps the element type, replaces the values by `pick` applied to the index list.
    func select(_ indices: [Int], shape: [Int]) -> ConstTensor {
        switch values {
        case .float(let v): return ConstTensor(shape: shape, values: .float(indices.map { v[$0] }))
        case .int(let v): return ConstTensor(shape: shape, values: .int(indices.map { v[$0] }))
        }
    }
}

/// Limits on anything a file can make us allocate.
enum ImportLimits {
    static let maxRank = 8
    static let maxDim = 1 << 31
    /// 1 Gi elements: far above any MCU model, far below what would exhaust memory.
    static let maxElements = 1 << 30
}

/// Element count of `dims`, or nil when a dim is negative or the product is absurd.
func checkedCount<S: Sequence>(_ dims: S) -> Int? where S.Element: BinaryInteger {
    var n = 1
    var rank = 0
    for d in dims {
        rank += 1
        guard d >= 0, Int64(d) <= Int64(ImportLimits.maxDim), rank <= ImportLimits.maxRank else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: Int(d))
        guard !o, p <= ImportLimits.maxElements else { return nil }
        n = p
    }
    return n
}

extension OnnxTensor {
    /// Decodes the payload. `modelDirectory` resolves external data, which must stay inside it.
    func decode(bytes: [UInt8], modelDirectory: URL) throws -> ConstTensor {
        guard let count = checkedCount(dims) else {
            throw ImportMessage("tensor '\(name)' has an invalid shape \(dims)")
        }
        let shape = dims.map { Int($0) }
        guard !hasStrings, dataType != 8 else { throw ImportMessage("tensor '\(name)' holds strings, which tinympq does not support") }
        guard let size = Self.elementSize[dataType] else {
            throw ImportMessage("tensor '\(name)' has data type \(dataType), which tinympq does not support")
        }
        var rawBytes: ArraySlice<UInt8>? = raw.map { bytes[$0] }
        if dataLocation == 1 || !external.isEmpty {
            rawBytes = try readExternal(count: count, size: size, modelDirectory: modelDirectory)[...]
        }
        if let rawBytes {
            guard rawBytes.count == count * size else {
                throw ImportMessage("tensor '\(name)' has \(rawBytes.count) bytes of data, its shape \(shape) needs \(count * size)")
            }
            return ConstTensor(shape: shape, values: Self.decodeRaw(rawBytes, type: dataType, count: count))
        }
        func typed<T>(_ a: [T], _ field: String) throws -> [T] {
            guard a.count == count else {
                throw ImportMessage("tensor '\(name)' has \(a.count) values in \(field), its shape \(shape) needs \(count)")
            }
            return a
        }
        switch dataType {
        case 1: return ConstTensor(shape: shape, values: .float(try typed(floatData, "float_data")))
        case 11: return ConstTensor(shape: shape, values: .float(try typed(doubleData, "double_data").map { Float($0) }))
        case 10: return ConstTensor(shape: shape, values: .float(try typed(int32Data, "int32_data").map { halfToFloat(UInt16(truncatingIfNeeded: $0)) }))
        case 7: return ConstTensor(shape: shape, values: .int(try typed(int64Data, "int64_data")))
        case 12, 13: return ConstTensor(shape: shape, values: .int(try typed(uint64Data, "uint64_data")))
        default: return ConstTensor(shape: shape, values: .int(try typed(int32Data, "int32_data")))
        }
    }

    static let elementSize: [Int64: Int] = [1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8]

    static func decodeRaw(_ b: ArraySlice<UInt8>, type: Int64, count: Int) -> ConstTensor.Values {
        let base = b.startIndex
        func le(_ i: Int, _ n: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[base + i * n + k]) << (8 * UInt64(k)) }
            return v
        }
        switch type {
        case 1:
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBytes { dst in b.withUnsafeBytes { src in dst.copyMemory(from: src) } }
            return .float(out)  // ONNX raw data is little-endian, as is every host we build for.
        case 11: return .float((0..<count).map { Float(Double(bitPattern: le($0, 8))) })
        case 10: return .float((0..<count).map { halfToFloat(UInt16(le($0, 2))) })
        case 2, 9: return .int((0..<count).map { Int64(b[base + $0]) })
        case 3: return .int((0..<count).map { Int64(Int8(bitPattern: b[base + $0])) })
        case 4: return .int((0..<count).map { Int64(le($0, 2)) })
        case 5: return .int((0..<count).map { Int64(Int16(truncatingIfNeeded: le($0, 2))) })
        case 6: return .int((0..<count).map { Int64(Int32(truncatingIfNeeded: le($0, 4))) })
        case 12: return .int((0..<count).map { Int64(le($0, 4)) })
        default: return .int((0..<count).map { Int64(bitPattern: le($0, 8)) })
        }
    }

    private func readExternal(count: Int, size: Int, modelDirectory: URL) throws -> [UInt8] {
        guard let location = external["location"], !location.isEmpty else {
            throw ImportMessage("tensor '\(name)' is stored externally but names no location")
        }
        let path = try confinedPath(location, inside: modelDirectory, what: "external data of tensor '\(name)'")
        let offset = Int(external["offset"] ?? "0") ?? -1
        let (wanted, o1) = count.multipliedReportingOverflow(by: size)
        let length = external["length"].flatMap { Int($0) } ?? wanted
        let (end, o2) = offset.addingReportingOverflow(length)
        guard !o1, !o2, offset >= 0, length == wanted, end <= ModelFile.maxFileBytes else {
            throw ImportMessage("tensor '\(name)': external data offset \(external["offset"] ?? "?") / length \(external["length"] ?? "?") do not match its shape (\(wanted) bytes) or lie beyond the \(ModelFile.maxFileBytes)-byte limit")
        }
        try requireRegularFile(path, what: "tensor '\(name)': external data file '\(location)'")
        guard let fh = FileHandle(forReadingAtPath: path.path) else {
            throw ImportMessage("tensor '\(name)': cannot open external data file '\(location)'")
        }
        defer { try? fh.close() }
        let fileSize = (try? fh.seekToEnd()) ?? 0
        guard UInt64(end) <= fileSize else {
            throw ImportMessage("tensor '\(name)': external data file '\(location)' has \(fileSize) bytes, the tensor needs bytes \(offset)..<\(offset + length)")
        }
        try fh.seek(toOffset: UInt64(offset))
        let data = try fh.read(upToCount: length) ?? Data()
        guard data.count == length else { throw ImportMessage("tensor '\(name)': short read from '\(location)'") }
        return [UInt8](data)
    }
}

/// Resolves `relative` against `directory` and refuses anything that ends up outside it
/// (absolute paths, `..`, symbolic links pointing out).
public func confinedPath(_ relative: String, inside directory: URL, what: String) throws -> URL {
    guard !relative.hasPrefix("/"), !relative.contains("\0") else {
        throw ImportMessage("\(what): path '\(relative)' must be relative to the file's own folder")
    }
    let dir = directory.standardizedFileURL.resolvingSymlinksInPath()
    let target = dir.appendingPathComponent(relative).standardizedFileURL.resolvingSymlinksInPath()
    let prefix = dir.path.hasSuffix("/") ? dir.path : dir.path + "/"
    guard target.path.hasPrefix(prefix) else {
        throw ImportMessage("\(what): path '\(relative)' leaves the folder '\(directory.lastPathComponent)'; refused")
    }
    return target
}

/// IEEE 754 binary16 → binary32.
func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = UInt32((h >> 10) & 0x1f)
    let frac = UInt32(h & 0x3ff)
    if exp == 0 {
        let v = Float(frac) * Float(sign == 0 ? 1 : -1) / Float(1 << 24)
        return v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (frac << 13)) }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (frac << 13))
}

/// A message without file context; the importer adds the file (and node) when it surfaces.
public struct ImportMessage: Error, CustomStringConvertible {
    public var description: String
    public init(_ m: String) { description = m }
}
