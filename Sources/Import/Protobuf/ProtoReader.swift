/// A reader for the protocol-buffers wire format over a byte range of one shared buffer.
///
/// It knows no schema: a message is walked field by field (`forEachField`), and callers pick the
/// field numbers they know (from `onnx.proto`) and skip the rest, as protobuf requires.
/// Every length is checked against the bytes that remain, so truncated or corrupt input ends in a
/// `ProtoError`, never a crash or an oversized allocation.
struct ProtoReader {
    let bytes: [UInt8]
    let range: Range<Int>

    init(bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        self.range = range ?? 0..<bytes.count
    }

    enum WireType: Int {
        case varint = 0, fixed64 = 1, lengthDelimited = 2, startGroup = 3, endGroup = 4, fixed32 = 5
    }

    struct Field {
        var number: Int
        var wire: WireType
        /// The value of varint and fixed fields.
        var scalar: UInt64
        /// The payload of a length-delimited field.
        var payload: Range<Int>
    }

    /// Calls `body` for every field of the message, in file order.
    func forEachField(_ body: (Field) throws -> Void) throws {
        var pos = range.lowerBound
        let end = range.upperBound
        while pos < end {
            let tagAt = pos
            let key = try readVarint(&pos, end)
            let number = Int(truncatingIfNeeded: key >> 3)
            guard number > 0, number < 1 << 29 else { throw ProtoError(offset: tagAt, "invalid field number \(key >> 3)") }
            guard let wire = WireType(rawValue: Int(key & 7)) else {
                throw ProtoError(offset: tagAt, "unknown wire type \(key & 7) for field \(number)")
            }
            var f = Field(number: number, wire: wire, scalar: 0, payload: pos..<pos)
            switch wire {
            case .varint:
                f.scalar = try readVarint(&pos, end)
            case .fixed64:
                guard end - pos >= 8 else { throw ProtoError(offset: pos, "truncated 64-bit field \(number)") }
                f.scalar = readLE(pos, 8)
                pos += 8
            case .fixed32:
                guard end - pos >= 4 else { throw ProtoError(offset: pos, "truncated 32-bit field \(number)") }
                f.scalar = readLE(pos, 4)
                pos += 4
            case .lengthDelimited:
                let len = try readVarint(&pos, end)
                guard len <= UInt64(end - pos) else {
                    throw ProtoError(offset: pos, "field \(number) claims \(len) bytes but only \(end - pos) remain")
                }
                f.payload = pos..<(pos + Int(len))
                pos += Int(len)
            case .startGroup, .endGroup:
                throw ProtoError(offset: tagAt, "field \(number) uses the deprecated group encoding")
            }
            try body(f)
        }
    }

    func message(_ f: Field) throws -> ProtoReader {
        guard f.wire == .lengthDelimited else { throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should be a message") }
        return ProtoReader(bytes: bytes, range: f.payload)
    }

    func string(_ f: Field) throws -> String {
        guard f.wire == .lengthDelimited else { throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should be a string") }
        return String(decoding: bytes[f.payload], as: UTF8.self)
    }

    func int(_ f: Field) throws -> Int64 {
        guard f.wire == .varint else { throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should be a varint") }
        return Int64(bitPattern: f.scalar)
    }

    func float(_ f: Field) throws -> Float {
        guard f.wire == .fixed32 else { throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should be a 32-bit float") }
        return Float(bitPattern: UInt32(truncatingIfNeeded: f.scalar))
    }

    /// A repeated int64 field, packed or not: appends to `into`.
    func ints(_ f: Field, into: inout [Int64]) throws {
        switch f.wire {
        case .varint: into.append(Int64(bitPattern: f.scalar))
        case .lengthDelimited:
            var pos = f.payload.lowerBound
            while pos < f.payload.upperBound { into.append(Int64(bitPattern: try readVarint(&pos, f.payload.upperBound))) }
        default: throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should hold integers")
        }
    }

    /// A repeated float field, packed or not.
    func floats(_ f: Field, into: inout [Float]) throws {
        switch f.wire {
        case .fixed32: into.append(Float(bitPattern: UInt32(truncatingIfNeeded: f.scalar)))
        case .lengthDelimited:
            guard f.payload.count % 4 == 0 else { throw ProtoError(offset: f.payload.lowerBound, "packed floats of \(f.payload.count) bytes") }
            into.reserveCapacity(into.count + f.payload.count / 4)
            var pos = f.payload.lowerBound
            while pos < f.payload.upperBound {
                into.append(Float(bitPattern: UInt32(truncatingIfNeeded: readLE(pos, 4))))
                pos += 4
            }
        default: throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should hold floats")
        }
    }

    /// A repeated double field, packed or not.
    func doubles(_ f: Field, into: inout [Double]) throws {
        switch f.wire {
        case .fixed64: into.append(Double(bitPattern: f.scalar))
        case .lengthDelimited:
            guard f.payload.count % 8 == 0 else { throw ProtoError(offset: f.payload.lowerBound, "packed doubles of \(f.payload.count) bytes") }
            var pos = f.payload.lowerBound
            while pos < f.payload.upperBound {
                into.append(Double(bitPattern: readLE(pos, 8)))
                pos += 8
            }
        default: throw ProtoError(offset: f.payload.lowerBound, "field \(f.number) should hold doubles")
        }
    }

    private func readVarint(_ pos: inout Int, _ end: Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        let start = pos
        while true {
            guard pos < end else { throw ProtoError(offset: start, "truncated varint") }
            let b = bytes[pos]
            pos += 1
            guard shift < 64 else { throw ProtoError(offset: start, "varint longer than 10 bytes") }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private func readLE(_ pos: Int, _ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<n { v |= UInt64(bytes[pos + i]) << (8 * UInt64(i)) }
        return v
    }
}

struct ProtoError: Error, CustomStringConvertible {
    var offset: Int
    var message: String
    init(offset: Int, _ message: String) {
        self.offset = offset
        self.message = message
    }
    var description: String { "\(message) (at byte \(offset))" }
}
