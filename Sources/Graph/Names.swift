/// Turns names that came from files (model stems, budget names) into safe folder names and C
/// identifiers.
public enum Names {
    /// Letters, digits, `-`, `_` and `.` survive; anything else becomes `_`. Never empty, never
    /// starts with a dot (hidden, and `..`), at most 64 characters.
    public static func fileName(_ raw: String) -> String {
        var s = String(raw.unicodeScalars.map { c -> Character in
            (c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" || c == ".")) ? Character(c) : "_"
        })
        while s.hasPrefix(".") { s = "_" + s.dropFirst() }
        if s.isEmpty { s = "model" }
        return String(s.prefix(64))
    }

    /// A C identifier: `[A-Za-z_][A-Za-z0-9_]*`, lower-cased, not starting with a digit.
    public static func cIdentifier(_ raw: String) -> String {
        var s = String(fileName(raw).lowercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
        if let f = s.first, f.isNumber { s = "m_" + s }
        return s
    }
}
