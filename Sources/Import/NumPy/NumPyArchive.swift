import CZlib
import Foundation
import Graph

extension NumPy {
    /// Writes float32 arrays as an uncompressed `.npz` (a zip of `NAME.npy` members, in the
    /// given order), as `numpy.savez` does.
    public static func npzData(_ arrays: [(name: String, tensor: Tensor)]) -> Data {
        var out = Data()
        var central = Data()
        func le16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)]) }
        func le32(_ v: Int, _ d: inout Data) { for k in 0..<4 { d.append(UInt8((v >> (8 * k)) & 0xff)) } }
        for (name, t) in arrays {
            let member = Array((name + ".npy").utf8)
            let body = npyData(t)
            let crc = body.withUnsafeBytes { Int(crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count))) }
            let offset = out.count
            // Local file header: stored (method 0), no data descriptor.
            le32(0x0403_4b50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0x21, &out)
            le32(crc, &out); le32(body.count, &out); le32(body.count, &out); le16(member.count, &out); le16(0, &out)
            out.append(contentsOf: member)
            out.append(body)
            le32(0x0201_4b50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0x21, &central); le32(crc, &central); le32(body.count, &central); le32(body.count, &central)
            le16(member.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(offset, &central)
            central.append(contentsOf: member)
        }
        let centralOffset = out.count
        out.append(central)
        le32(0x0605_4b50, &out); le16(0, &out); le16(0, &out); le16(arrays.count, &out); le16(arrays.count, &out)
        le32(central.count, &out); le32(centralOffset, &out); le16(0, &out)
        return out
    }
}
