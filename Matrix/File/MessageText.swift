/// How text from a file is shown inside a message: escaped, so that a newline, a CR or a
/// terminal escape in a matrix value cannot forge lines or recolour the terminal, and cut
/// to about 80 characters, so that a 10 MB key does not make a 10 MB message.
public enum MessageText {
    /// Longest value echoed in a message, in characters, before it is cut with "…".
    public static let maxEchoed = 80
    /// Most items of a list (of known names, of accepted values) shown in a message.
    public static let maxListed = 20

    /// `"value"`, escaped and cut.
    public static func quoted(_ value: some StringProtocol) -> String { "\"\(escaped(value, limit: maxEchoed))\"" }

    /// `a, b, c, … (N more)`: names from the file, each escaped and cut, at most
    /// ``maxListed`` of them.
    public static func list(_ items: some Collection<String>, separator: String = ", ") -> String {
        let shown = items.prefix(maxListed).map { escaped($0, limit: maxEchoed) }
        let rest = items.count - shown.count
        return shown.joined(separator: separator) + (rest > 0 ? "\(separator)… (\(rest) more)" : "")
    }

    /// ``list(_:separator:)`` of the first names in sorted order, found in one pass (the
    /// file may define 100k names, and each message would sort them again).
    public static func sortedList(_ items: some Collection<String>) -> String {
        var smallest: [String] = []
        for item in items where smallest.count < maxListed || item < smallest[smallest.count - 1] {
            let position = smallest.firstIndex { item < $0 } ?? smallest.count
            smallest.insert(item, at: position)
            if smallest.count > maxListed { smallest.removeLast() }
        }
        let rest = items.count - smallest.count
        return smallest.map { escaped($0, limit: maxEchoed) }.joined(separator: ", ") + (rest > 0 ? ", … (\(rest) more)" : "")
    }

    /// `value` with control characters (C0, DEL, C1), line and paragraph separators and
    /// bidirectional overrides written as `\n`, `\r`, `\t` or `\u{1B}`; cut to `limit`
    /// characters with "…" when given.
    public static func escaped(_ value: some StringProtocol, limit: Int? = nil) -> String {
        var out = ""
        var count = 0
        for scalar in value.unicodeScalars {
            if let limit, count >= limit {
                out += "…"
                break
            }
            count += 1
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if needsEscape(scalar) {
                    out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// Whether `text` holds a character ``escaped(_:limit:)`` would rewrite.
    public static func hasControl(_ text: some StringProtocol) -> Bool { text.unicodeScalars.contains(where: needsEscape) }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F: return true
        // Line/paragraph separators, bidi marks, embeddings, overrides and isolates
        // ("Trojan Source"): they reorder or break what the reader sees.
        case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
