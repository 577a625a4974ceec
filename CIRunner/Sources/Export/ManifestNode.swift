import Foundation

/// A value of a generated Kubernetes manifest or GitHub Actions workflow, written as
/// JSON-compatible YAML: JSON is valid YAML (1.2), so every string is double-quoted with
/// JSON's escapes and no value from a matrix (a name with `: `, `#`, a quote, a newline)
/// can change the document's structure, and a JSON parser reads it back. Keys keep the
/// order they are given in (`apiVersion`, `kind`, `metadata`, `spec`), for people reading it.
public indirect enum ManifestNode: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral
{
    case string(String)
    case int(Int)
    case bool(Bool)
    case array([ManifestNode])
    case object([(String, ManifestNode)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ManifestNode...) { self = .array(elements) }

    public static func == (lhs: ManifestNode, rhs: ManifestNode) -> Bool { lhs.rendered(indent: 0) == rhs.rendered(indent: 0) }

    /// The document: `# ` comment lines (YAML comments, which a JSON reader must skip),
    /// then the value.
    public func document(comments: [String]) -> String {
        let header = comments.flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false) }.map { "# \($0)" }
        return (header + [rendered(indent: 0)]).joined(separator: "\n") + "\n"
    }

    func rendered(indent: Int) -> String {
        let inner = String(repeating: " ", count: indent + 2)
        let closing = String(repeating: " ", count: indent)
        switch self {
        case .string(let text): return Self.quoted(text)
        case .int(let number): return String(number)
        case .bool(let flag): return flag ? "true" : "false"
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[\n" + items.map { inner + $0.rendered(indent: indent + 2) }.joined(separator: ",\n") + "\n\(closing)]"
        case .object(let pairs):
            if pairs.isEmpty { return "{}" }
            return "{\n" + pairs.map { inner + Self.quoted($0.0) + ": " + $0.1.rendered(indent: indent + 2) }.joined(separator: ",\n") + "\n\(closing)}"
        }
    }

    /// `text` as a JSON string literal (quotes, backslashes, control characters escaped).
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            // Control characters, and the line separators YAML 1.1 readers break lines at.
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x85 || scalar.value == 0x2028 || scalar.value == 0x2029:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
