/// A command or path template with `{name}` placeholders, e.g.
/// `make BITS={bits} OPT='{opt}' -j{jobs}`.
///
/// A `{` followed by a name (letters, digits, `_`, `-`, `.`) and `}` is a placeholder.
/// Shell syntax is left alone: `${VAR}` (a `$` before the brace) and brace expansions
/// such as `{a,b}` are not placeholders.
///
/// `{name}` is replaced by the value as it is: in a build command that is raw shell text,
/// so a value `a b` is two words and `$(…)` in a value runs. `{name:q}` is replaced by the
/// value quoted for the shell (``shellQuoted(_:)``: one single-quoted word), for values
/// that should stay one argument whatever they hold.
public struct Template: Sendable, Hashable {
    public let text: String

    public init(_ text: String) { self.text = text }

    /// The placeholder names, in order of first appearance.
    public var placeholders: [String] {
        var seen: [String] = []
        for piece in pieces() {
            if case .placeholder(let name, _) = piece, !seen.contains(name) { seen.append(name) }
        }
        return seen
    }

    /// The text with every placeholder replaced.
    ///
    /// - Throws: ``TemplateError`` naming the first placeholder `values` lacks.
    public func expand(_ values: [String: String]) throws -> String {
        var out = ""
        for piece in pieces() {
            switch piece {
            case .literal(let text): out += text
            case .placeholder(let name, let quoted):
                guard let value = values[name] else {
                    throw TemplateError(placeholder: name, template: text, known: values.keys.sorted())
                }
                out += quoted ? Self.shellQuoted(value) : value
            }
        }
        return out
    }

    private enum Piece {
        case literal(Substring)
        /// `quoted` for the `{name:q}` form.
        case placeholder(String, quoted: Bool)
    }

    private func pieces() -> [Piece] {
        var result: [Piece] = []
        var index = text.startIndex
        var literalStart = index
        while index < text.endIndex {
            guard text[index] == "{", index == text.startIndex || text[text.index(before: index)] != "$",
                let close = text[index...].firstIndex(of: "}")
            else {
                index = text.index(after: index)
                continue
            }
            var name = text[text.index(after: index)..<close]
            let quoted = name.hasSuffix(":q")
            if quoted { name = name.dropLast(2) }
            let isName = !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
            guard isName else {
                index = text.index(after: index)
                continue
            }
            result.append(.literal(text[literalStart..<index]))
            result.append(.placeholder(String(name), quoted: quoted))
            index = text.index(after: close)
            literalStart = index
        }
        result.append(.literal(text[literalStart...]))
        return result
    }
}

/// A template names a placeholder nothing provides.
public struct TemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public var placeholder: String
    public var template: String
    public var known: [String]

    public var description: String {
        "unknown placeholder {\(placeholder)} in '\(template)' (known: \(known.map { "{\($0)}" }.joined(separator: ", "))); "
            + "add '\(placeholder)' to the component's variables in the matrix file or fix the template"
    }
}

extension Template {
    /// `value` as one POSIX shell word: in single quotes, each `'` written as `'\''`.
    /// The empty string is `''`.
    public static func shellQuoted(_ value: String) -> String {
        var out = "'"
        for character in value {
            if character == "'" { out += "'\\''" } else { out.append(character) }
        }
        return out + "'"
    }

    /// Names used in `text`, in order of first use.
    public static func placeholders(in text: String) -> [String] { Template(text).placeholders }

    /// `text` with each known placeholder replaced; unknown ones stay as written (used
    /// where a later stage fills the rest, e.g. `{jobs}`).
    public static func render(_ text: String, _ values: [String: String]) -> String {
        var out = ""
        for piece in Template(text).pieces() {
            switch piece {
            case .literal(let literal): out += literal
            case .placeholder(let name, let quoted):
                if let value = values[name] {
                    out += quoted ? shellQuoted(value) : value
                } else {
                    out += quoted ? "{\(name):q}" : "{\(name)}"
                }
            }
        }
        return out
    }
}
