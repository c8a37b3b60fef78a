/// A reader for the FlatBuffers binary format over one byte buffer, with no generated code.
///
/// A table is found through a signed offset to its vtable; the vtable lists, per field slot,
/// where the field sits inside the table (0 = absent, so the schema default applies). Offsets to
/// sub-tables, vectors and strings are unsigned and relative to where they are stored.
/// Every position and length is checked against the buffer before it is read, so a corrupt or
/// truncated file ends in a `FlatBufferError`, never a crash or an oversized allocation.
struct FlatBufferReader {
    let bytes: [UInt8]

    /// A table: its position in the buffer and its vtable's.
    struct Table {
        let position: Int
        let vtable: Int
        let vtableSize: Int
    }

    /// A vector's first element and its element count.
    struct Vector {
        let start: Int
        let count: Int
    }

    func check(_ pos: Int, _ size: Int, _ what: @autoclosure () -> String) throws {
        guard pos >= 0, size >= 0, pos <= bytes.count, size <= bytes.count - pos else {
            throw FlatBufferError(offset: pos, "\(what()) reaches outside the \(bytes.count)-byte buffer")
        }
    }

    func u8(_ pos: Int) -> UInt8 { bytes[pos] }
    func u16(_ pos: Int) -> UInt16 { UInt16(bytes[pos]) | UInt16(bytes[pos + 1]) << 8 }
    func u32(_ pos: Int) -> UInt32 {
        UInt32(bytes[pos]) | UInt32(bytes[pos + 1]) << 8 | UInt32(bytes[pos + 2]) << 16 | UInt32(bytes[pos + 3]) << 24
    }
    func u64(_ pos: Int) -> UInt64 { UInt64(u32(pos)) | UInt64(u32(pos + 4)) << 32 }

    /// The root table, after checking the 4-byte file identifier that follows the root offset.
    func root(identifier: String) throws -> Table {
        try check(0, 8, "the root offset and file identifier")
        let id = String(decoding: bytes[4..<8], as: UTF8.self)
        guard id == identifier else {
            throw FlatBufferError(offset: 4, "file identifier is '\(id.map { $0.isASCII && !$0.isWhitespace ? String($0) : "?" }.joined())', expected '\(identifier)'")
        }
        return try table(at: Int(u32(0)), "the root table")
    }

    func table(at pos: Int, _ what: @autoclosure () -> String) throws -> Table {
        try check(pos, 4, what())
        let soffset = Int(Int32(bitPattern: u32(pos)))
        let vt = pos - soffset
        try check(vt, 4, "the vtable of \(what())")
        let vtSize = Int(u16(vt)), tableSize = Int(u16(vt + 2))
        guard vtSize >= 4, vtSize % 2 == 0 else { throw FlatBufferError(offset: vt, "vtable of \(what()) has an invalid size \(vtSize)") }
        try check(vt, vtSize, "the vtable of \(what())")
        try check(pos, tableSize, what())
        return Table(position: pos, vtable: vt, vtableSize: vtSize)
    }

    /// Where field `slot` (0-based, schema order) sits, or nil when absent; `size` bytes are checked.
    func field(_ t: Table, _ slot: Int, size: Int) throws -> Int? {
        let entry = 4 + 2 * slot
        guard entry + 2 <= t.vtableSize else { return nil }
        let off = Int(u16(t.vtable + entry))
        guard off != 0 else { return nil }
        try check(t.position + off, size, "field \(slot) of the table at \(t.position)")
        return t.position + off
    }

    func int(_ t: Table, _ slot: Int, size: Int, signed: Bool, default value: Int) throws -> Int {
        guard let p = try field(t, slot, size: size) else { return value }
        switch (size, signed) {
        case (1, false): return Int(u8(p))
        case (1, true): return Int(Int8(bitPattern: u8(p)))
        case (2, false): return Int(u16(p))
        case (2, true): return Int(Int16(bitPattern: u16(p)))
        case (4, false): return Int(u32(p))
        case (4, true): return Int(Int32(bitPattern: u32(p)))
        default: return Int(truncatingIfNeeded: u64(p))
        }
    }

    func float(_ t: Table, _ slot: Int, default value: Float) throws -> Float {
        guard let p = try field(t, slot, size: 4) else { return value }
        return Float(bitPattern: u32(p))
    }

    func bool(_ t: Table, _ slot: Int, default value: Bool) throws -> Bool {
        try int(t, slot, size: 1, signed: false, default: value ? 1 : 0) != 0
    }

    /// Follows the unsigned offset stored at `pos`.
    func indirect(_ pos: Int) throws -> Int {
        try check(pos, 4, "an offset")
        return pos + Int(u32(pos))
    }

    func subTable(_ t: Table, _ slot: Int, _ what: @autoclosure () -> String) throws -> Table? {
        guard let p = try field(t, slot, size: 4) else { return nil }
        return try table(at: try indirect(p), what())
    }

    /// A vector field whose elements are `elementSize` bytes each (4 for offsets to tables).
    func vector(_ t: Table, _ slot: Int, elementSize: Int, _ what: @autoclosure () -> String) throws -> Vector? {
        guard let p = try field(t, slot, size: 4) else { return nil }
        let v = try indirect(p)
        try check(v, 4, "the length of \(what())")
        let count = Int(u32(v))
        guard count <= (bytes.count - v - 4) / max(1, elementSize) else {
            throw FlatBufferError(offset: v, "\(what()) claims \(count) elements, more than the buffer holds")
        }
        return Vector(start: v + 4, count: count)
    }

    func tables(_ t: Table, _ slot: Int, _ what: String) throws -> [Table] {
        guard let v = try vector(t, slot, elementSize: 4, what) else { return [] }
        return try (0..<v.count).map { i in try table(at: try indirect(v.start + 4 * i), "\(what)[\(i)]") }
    }

    func int32s(_ t: Table, _ slot: Int, _ what: String) throws -> [Int]? {
        guard let v = try vector(t, slot, elementSize: 4, what) else { return nil }
        return (0..<v.count).map { Int(Int32(bitPattern: u32(v.start + 4 * $0))) }
    }

    func floats(_ t: Table, _ slot: Int, _ what: String) throws -> [Float]? {
        guard let v = try vector(t, slot, elementSize: 4, what) else { return nil }
        return (0..<v.count).map { Float(bitPattern: u32(v.start + 4 * $0)) }
    }

    /// The byte range of a `[ubyte]` vector field.
    func byteRange(_ t: Table, _ slot: Int, _ what: String) throws -> Range<Int>? {
        guard let v = try vector(t, slot, elementSize: 1, what) else { return nil }
        return v.start..<(v.start + v.count)
    }

    func string(_ t: Table, _ slot: Int, _ what: String) throws -> String? {
        guard let r = try byteRange(t, slot, what) else { return nil }
        return String(decoding: bytes[r], as: UTF8.self)
    }
}

public struct FlatBufferError: Error, CustomStringConvertible, Sendable {
    public var offset: Int
    public var message: String
    init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }
    public var description: String { "at byte \(offset): \(message)" }
}
