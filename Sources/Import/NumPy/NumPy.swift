import CZlib
import Foundation
import Graph

/// One array from a NumPy `.npy` file or `.npz` archive.
public struct NumPyArray: Sendable {
    public enum Values: Sendable {
        case float([Float])
        case int([Int64])
    }

    public var shape: [Int]
    public var values: Values

    public var floats: [Float] {
        switch values {
        case .float(let v): return v
        case .int(let v): return v.map { Float($0) }
        }
    }

    public var ints: [Int64] {
        switch values {
        case .float(let v): return v.map { Int64($0) }
        case .int(let v): return v
        }
    }

    public var tensor: Tensor { Tensor(shape: shape, data: floats) }
}

/// A problem with a data file, naming the file and, where it applies, the array.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var field: String?
    public var message: String

    public init(file: String, field: String? = nil, _ message: String) {
        self.file = file
        self.field = field
        self.message = message
    }

    public var description: String { field.map { "\(file): array '\($0)': \(message)" } ?? "\(file): \(message)" }
}

/// Reads and writes NumPy's formats: `.npy` (format versions 1–3, little-endian float16/32/64,
/// signed and unsigned integers, bool) and `.npz` (zip archives, stored or deflated).
public enum NumPy {
    public static let maxElements = 1 << 30
    /// The largest data file we read.
    public static let maxFileBytes = 4_000_000_000

    /// Every array of a `.npy` (named "x") or `.npz` file, keyed by name without ".npy".
    public static func load(_ url: URL) throws -> [String: NumPyArray] {
        let file = url.lastPathComponent
        let bytes: [UInt8]
        do { bytes = try RegularFile.read(url, maxBytes: maxFileBytes) } catch {
            throw DataError(file: file, error.description)
        }
        return try parse(bytes, file: file)
    }

    /// The arrays of a `.npy` or `.npz` file's bytes (the fuzzer's entry point too).
    public static func parse(_ bytes: [UInt8], file: String) throws -> [String: NumPyArray] {
        if bytes.starts(with: [0x50, 0x4b]) { return try parseNpz(bytes, file: file) }
        return ["x": try parseNpy(bytes[...], file: file, field: nil)]
    }

    public static func parseNpy(_ b: ArraySlice<UInt8>, file: String, field: String?) throws -> NumPyArray {
        func fail(_ m: String) -> DataError { DataError(file: file, field: field, m) }
        let s = b.startIndex
        guard b.count >= 10, Array(b[s..<s + 6]) == [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] else { throw fail("not a NumPy .npy array (bad magic)") }
        let major = b[s + 6]
        let headerLen: Int, headerStart: Int
        switch major {
        case 1:
            headerLen = Int(b[s + 8]) | Int(b[s + 9]) << 8
            headerStart = s + 10
        case 2, 3:
            guard b.count >= 12 else { throw fail("truncated header") }
            headerLen = (0..<4).reduce(0) { $0 | Int(b[s + 8 + $1]) << (8 * $1) }
            headerStart = s + 12
        default: throw fail("unsupported .npy format version \(major)")
        }
        guard headerStart + headerLen <= b.endIndex else { throw fail("truncated header") }
        let header = String(decoding: b[headerStart..<headerStart + headerLen], as: UTF8.self)
        guard let descr = dictValue(header, "descr"), let shapeText = dictValue(header, "shape") else {
            throw fail("header has no 'descr' or 'shape': \(header.prefix(80))")
        }
        if dictValue(header, "fortran_order") == "True" { throw fail("Fortran-ordered arrays are not supported; save with np.ascontiguousarray") }
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { d -> Int in
            guard let v = Int(d), v >= 0 else { throw fail("invalid shape \(shapeText)") }
            return v
        }
        guard let count = shape.reduce(Optional(1), { acc, d in
            guard let acc else { return nil }
            let (p, o) = acc.multipliedReportingOverflow(by: d)
            return o || p > maxElements ? nil : p
        }) else { throw fail("shape \(shape) is too large") }
        let type = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        guard let kind = type.dropFirst().first, let size = Int(type.dropFirst(2)), ["<", "|", "="].contains(type.first) else {
            throw fail("unsupported dtype '\(type)' (big-endian or structured)")
        }
        let dataStart = headerStart + headerLen
        guard b.endIndex - dataStart >= count * size else {
            throw fail("truncated data: \(b.endIndex - dataStart) bytes for \(count) elements of \(size) bytes")
        }
        func le(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(b[dataStart + i * size + k]) << (8 * UInt64(k)) }
            return v
        }
        switch (kind, size) {
        case ("f", 4):
            var out = [Float](repeating: 0, count: count)
            out.withUnsafeMutableBytes { dst in b[dataStart..<dataStart + count * 4].withUnsafeBytes { dst.copyMemory(from: $0) } }
            return NumPyArray(shape: shape, values: .float(out))
        case ("f", 8): return NumPyArray(shape: shape, values: .float((0..<count).map { Float(Double(bitPattern: le($0))) }))
        case ("f", 2): return NumPyArray(shape: shape, values: .float((0..<count).map { halfToFloat(UInt16(le($0))) }))
        case ("i", 1), ("i", 2), ("i", 4), ("i", 8):
            let shift = UInt64(64 - 8 * size)
            return NumPyArray(shape: shape, values: .int((0..<count).map { Int64(bitPattern: le($0) << shift) >> Int64(shift) }))
        case ("u", 1), ("u", 2), ("u", 4), ("b", 1):
            return NumPyArray(shape: shape, values: .int((0..<count).map { Int64(le($0)) }))
        default:
            throw fail("unsupported dtype '\(type)'")
        }
    }

    static func dictValue(_ header: String, _ key: String) -> String? {
        guard let k = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else { return nil }
        var rest = header[k.upperBound...].drop { $0 == " " || $0 == ":" }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { return nil }
            return String(rest[...close])
        }
        rest = rest.prefix { $0 != "," && $0 != "}" }
        return rest.trimmingCharacters(in: .whitespaces)
    }

    /// The arrays of a zip archive as `np.savez` / `np.savez_compressed` write it.
    static func parseNpz(_ b: [UInt8], file: String) throws -> [String: NumPyArray] {
        func fail(_ m: String) -> DataError { DataError(file: file, m) }
        func u16(_ p: Int) throws -> Int {
            guard p >= 0, p + 2 <= b.count else { throw fail("truncated zip archive") }
            return Int(b[p]) | Int(b[p + 1]) << 8
        }
        func u32(_ p: Int) throws -> Int { try u16(p) | (u16(p + 2) << 16) }
        func u64(_ p: Int) throws -> Int { try u32(p) | (u32(p + 4) << 32) }
        // End of central directory: the last 22 + up to 65535 comment bytes.
        var eocd = -1
        var p = b.count - 22
        while p >= max(0, b.count - 22 - 65535) {
            if b[p] == 0x50, b[p + 1] == 0x4b, b[p + 2] == 5, b[p + 3] == 6 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (no end-of-directory record); truncated .npz?") }
        let entries = try u16(eocd + 10)
        var cd = try u32(eocd + 16)
        var out: [String: NumPyArray] = [:]
        for _ in 0..<entries {
            guard try u32(cd) == 0x0201_4b50 else { throw fail("corrupt zip central directory") }
            let method = try u16(cd + 10)
            let crc = UInt32(try u32(cd + 16))
            var csize = try u32(cd + 20), usize = try u32(cd + 24)
            let nameLen = try u16(cd + 28), extraLen = try u16(cd + 30), commentLen = try u16(cd + 32)
            var local = try u32(cd + 42)
            guard cd + 46 + nameLen <= b.count else { throw fail("truncated zip central directory") }
            let name = String(decoding: b[cd + 46..<cd + 46 + nameLen], as: UTF8.self)
            // Zip64 extra field: the 0xFFFFFFFF values follow in order usize, csize, offset.
            var e = cd + 46 + nameLen
            while e + 4 <= cd + 46 + nameLen + extraLen {
                let id = try u16(e), len = try u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if usize == 0xFFFF_FFFF { usize = try u64(q); q += 8 }
                    if csize == 0xFFFF_FFFF { csize = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(q) }
                }
                e += 4 + len
            }
            cd += 46 + nameLen + extraLen + commentLen
            guard try u32(local) == 0x0403_4b50 else { throw fail("corrupt zip entry '\(name)'") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard csize >= 0, start + csize <= b.count, usize <= maxElements * 8 + 4096 else { throw fail("entry '\(name)' is truncated or too large") }
            let field = name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
            let data: [UInt8]
            switch method {
            case 0: data = Array(b[start..<start + csize])
            case 8: data = try inflate(b[start..<start + csize], size: usize, fail: { DataError(file: file, field: field, $0) })
            default: throw DataError(file: file, field: field, "compression method \(method) is not supported")
            }
            guard data.count == usize else { throw DataError(file: file, field: field, "size mismatch in the archive") }
            let actual = data.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
            guard actual == crc else { throw DataError(file: file, field: field, "CRC mismatch: the archive is corrupt") }
            out[field] = try parseNpy(data[...], file: file, field: field)
        }
        return out
    }

    static func inflate(_ src: ArraySlice<UInt8>, size: Int, fail: (String) -> DataError) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: max(size, 1))
        var stream = z_stream()
        guard inflateInit2_(&stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw fail("zlib init failed") }
        defer { inflateEnd(&stream) }
        let rc: Int32 = src.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { d in
                stream.next_in = UnsafeMutablePointer(mutating: s.bindMemory(to: Bytef.self).baseAddress)
                stream.avail_in = uInt(s.count)
                stream.next_out = d.bindMemory(to: Bytef.self).baseAddress
                stream.avail_out = uInt(d.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard rc == Z_STREAM_END, Int(stream.total_out) == size else { throw fail("corrupt deflate data") }
        return Array(out.prefix(size))
    }

    /// Writes a float32 `.npy` file.
    public static func npyData(_ t: Tensor) -> Data {
        let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0])
        let n = header.utf8.count
        d.append(contentsOf: [UInt8(n & 0xff), UInt8(n >> 8)])
        d.append(contentsOf: Array(header.utf8))
        t.data.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }
}
