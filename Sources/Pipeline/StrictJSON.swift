import Foundation

/// A strict JSON reader for configuration files (budgets).
///
/// `JSONSerialization` silently keeps the last of two equal keys and turns `true` into an
/// `NSNumber` that casts to `Int` 1; here a duplicate key is an error naming it, and values come
/// out as native Swift types: `Bool`, `Int` (a number without fraction or exponent that fits),
/// `Double`, `String`, `[Any]`, `[String: Any]` and `NSNull`, so `true as? Int` and `2.5 as? Int`
/// are nil and a type mistake is caught by the field's own check.
public enum StrictJSON {
    public struct Failure: Error, CustomStringConvertible, Sendable {
        /// The dotted path of the field, when the problem is a duplicate key.
        public var field: String?
        public var description: String
    }

    /// Deepest nesting accepted (a config file needs a handful of levels).
    static let maxDepth = 64

    public static func parse(_ data: Data) throws(Failure) -> Any {
        var p = Parser(bytes: [UInt8](data))
        p.skipSpace()
        let v = try p.value(path: "", depth: 0)
        p.skipSpace()
        guard p.i == p.bytes.count else { throw p.fail("unexpected text after the JSON value") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func fail(_ m: String, field: String? = nil) -> Failure {
            var line = 1, col = 1
            for b in bytes.prefix(i) { if b == 0x0a { line += 1; col = 1 } else { col += 1 } }
            return Failure(field: field, description: "\(m) (line \(line), column \(col))")
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
        }

        mutating func expect(_ word: String) throws(Failure) {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("invalid JSON value") }
            i += w.count
        }

        mutating func value(path: String, depth: Int) throws(Failure) -> Any {
            guard depth < StrictJSON.maxDepth else { throw fail("nested more than \(StrictJSON.maxDepth) levels deep") }
            guard i < bytes.count else { throw fail("unexpected end of the file") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var obj: [String: Any] = [:]
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return obj }
                while true {
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                    let key = try string()
                    let keyPath = path.isEmpty ? key : path + "." + key
                    guard obj[key] == nil else { throw fail("duplicate key '\(key)'", field: keyPath) }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':' after key '\(key)'") }
                    i += 1
                    skipSpace()
                    obj[key] = try value(path: keyPath, depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end of the file inside an object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return obj }
                    throw fail("expected ',' or '}'")
                }
            case UInt8(ascii: "["):
                i += 1
                var arr: [Any] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return arr }
                while true {
                    skipSpace()
                    arr.append(try value(path: path + "[\(arr.count)]", depth: depth + 1))
                    skipSpace()
                    guard i < bytes.count else { throw fail("unexpected end of the file inside a list") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return arr }
                    throw fail("expected ',' or ']'")
                }
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: "t"): try expect("true"); return true
            case UInt8(ascii: "f"): try expect("false"); return false
            case UInt8(ascii: "n"): try expect("null"); return NSNull()
            default: return try number()
            }
        }

        mutating func number() throws(Failure) -> Any {
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            var integral = true
            while i < bytes.count {
                let c = bytes[i]
                if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { i += 1; continue }
                if [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"), UInt8(ascii: "+"), UInt8(ascii: "-")].contains(c) {
                    integral = false
                    i += 1
                    continue
                }
                break
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            guard !text.isEmpty, text != "-" else { throw fail("invalid JSON value") }
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard let first = digits.first, first.isNumber, !(digits.count > 1 && first == "0" && digits.dropFirst().first?.isNumber == true) else {
                throw fail("invalid number '\(text)'")
            }
            if integral, let n = Int(text) { return n }
            guard let d = Double(text), d.isFinite else { throw fail("invalid number '\(text)'") }
            return d
        }

        mutating func string() throws(Failure) -> String {
            i += 1  // opening quote
            var out: [UInt8] = []
            while i < bytes.count {
                let c = bytes[i]
                i += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { throw fail("unterminated string") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count, let u = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                            throw fail("invalid \\u escape")
                        }
                        i += 4
                        // Surrogates (and NUL) are refused: no config value needs them.
                        guard u != 0, let scalar = Unicode.Scalar(u) else { throw fail("unsupported \\u escape") }
                        out += Array(String(Character(scalar)).utf8)
                    default: throw fail("invalid escape in a string")
                    }
                default:
                    guard c >= 0x20 else { throw fail("control character in a string") }
                    out.append(c)
                }
            }
            throw fail("unterminated string")
        }
    }
}
