import Foundation
import Matrix

/// A marker's regex compiled once, with a cheap literal pre-check: most serial lines
/// match no marker, and a substring test rejects them without running the regex engine.
struct CompiledMarker: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable after init and safe to share.
    let name: String
    let regex: NSRegularExpression
    /// A substring every matching line must contain (the regex's literal prefix), if it
    /// is long enough to be worth testing first.
    let literal: String?

    init(_ marker: Marker) throws {
        name = marker.name
        do {
            regex = try NSRegularExpression(pattern: marker.regex)
        } catch {
            throw VerdictRulesError(marker: marker.name, pattern: marker.regex)
        }
        literal = Self.literalPrefix(of: marker.regex)
    }

    func matches(_ line: String) -> Bool { firstMatch(line) != nil }

    func firstMatch(_ line: String) -> NSTextCheckingResult? {
        if let literal, !line.contains(literal) { return nil }
        return regex.firstMatch(in: line, range: NSRange(line.startIndex..., in: line))
    }

    /// The run of plain characters a pattern starts with (after `^`), when every match
    /// must contain it: none when a top-level `|` offers another way, and minus its last
    /// character when a quantifier follows. Shorter than 4 characters is not worth it.
    static func literalPrefix(of pattern: String) -> String? {
        var depth = 0
        var escaped = false
        var inClass = false
        for character in pattern {
            if escaped {
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "[": inClass = true
            case "]": inClass = false
            case "(" where !inClass: depth += 1
            case ")" where !inClass: depth -= 1
            case "|" where !inClass && depth == 0: return nil
            default: break
            }
        }
        var body = pattern[...]
        if body.hasPrefix("^") { body = body.dropFirst() }
        let special: Set<Character> = ["\\", ".", "^", "$", "|", "?", "*", "+", "(", ")", "[", "]", "{", "}"]
        var prefix = String(body.prefix { !special.contains($0) })
        if let next = body.dropFirst(prefix.count).first, "?*{".contains(next), !prefix.isEmpty {
            prefix.removeLast()
        }
        return prefix.count >= 4 ? prefix : nil
    }
}

/// A marker whose regex does not compile: the matrix file is wrong, not the guest.
public struct VerdictRulesError: Error, CustomStringConvertible, Sendable {
    public var marker: String
    public var pattern: String
    public var description: String {
        "verdict rule \"\(marker)\": /\(pattern)/ is not a valid regular expression (ICU syntax); fix it in the matrix file"
    }
}
