import Foundation

/// Quoting for POSIX shells, used wherever nestci writes a command a person will paste
/// (reproduce.sh, logs).
public enum ShellQuote {
    /// `word` unchanged when it is safe bare, otherwise in single quotes.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }) {
            return word
        }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
