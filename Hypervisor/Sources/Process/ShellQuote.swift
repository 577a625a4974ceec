import Foundation

/// Quoting for POSIX shells, used wherever nestci writes a command a person will paste
/// or run (reproduce.sh, logs). Every value from a matrix, a repository or a guest goes
/// through here: a word through ``quote(_:)``, text in a `#` comment through
/// ``comment(_:)``.
public enum ShellQuote {
    /// `word` unchanged when it is safe bare, otherwise in single quotes (inside which a
    /// POSIX shell expands nothing: no `$(…)`, no backquotes, no `$var`).
    public static func quote(_ word: String) -> String {
        if isSafeBare(word) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// Each word quoted, joined by spaces.
    public static func join(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }

    /// True when `word` means itself to a shell without quotes.
    public static func isSafeBare(_ word: String) -> Bool {
        !word.isEmpty && word.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }
    }

    /// `text` made safe to follow `# ` on one line: a newline would end the comment and
    /// run the next line, so line breaks, other control characters and terminal escapes
    /// are written as visible escapes (`\n`, `\x1b`). Everything else is kept as it is.
    public static func comment(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) || scalar == "\u{2028}" || scalar == "\u{2029}":
                out += String(format: "\\x%02x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A `printf` command that writes `text` exactly (every line a quoted argument), for
    /// a script that must recreate a file. A here-document would end early at a line
    /// equal to its delimiter; quoted arguments cannot.
    public static func printfLines(_ text: String) -> String {
        var lines = text.components(separatedBy: "\n")
        let last = lines.removeLast()  // "" when the text ends with a newline
        var parts: [String] = []
        if !lines.isEmpty { parts.append("printf '%s\\n' " + join(lines)) }
        if !last.isEmpty { parts.append("printf '%s' " + quote(last)) }
        if parts.isEmpty { return "printf ''" }
        return parts.count == 1 ? parts[0] : "{ " + parts.joined(separator: "; ") + "; }"
    }
}
