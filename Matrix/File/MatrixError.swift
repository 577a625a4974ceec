/// One problem in a matrix file: where (file, JSON path, line and column) and what to do.
public struct MatrixIssue: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// JSON path such as `axes.opt[2]` (empty for the whole document).
    public var path: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, path: String, line: Int = 0, column: Int = 0, message: String) {
        self.file = file
        self.path = path
        self.line = line
        self.column = column
        self.message = message
    }

    /// `matrix.json:12:5: axes.opt[2]: unknown level "O4" (expected O0, O1, O2, O3, Os, Og)`.
    /// Escaped throughout (``MessageText``): nothing from the file reaches a terminal raw.
    public var description: String {
        let position = line > 0 ? "\(file):\(line):\(column)" : file
        let text = path.isEmpty ? "\(position): \(message)" : "\(position): \(path): \(message)"
        return MessageText.hasControl(text) ? MessageText.escaped(text) : text
    }
}

/// Every problem found in a matrix file; thrown once, after the whole file was checked.
public struct MatrixError: Error, Sendable, CustomStringConvertible {
    public var issues: [MatrixIssue]

    public init(issues: [MatrixIssue]) { self.issues = issues }

    public var description: String {
        let count = issues.count == 1 ? "1 error" : "\(issues.count) errors"
        return issues.map(\.description).joined(separator: "\n") + "\n\(count) in \(issues.first?.file ?? "the matrix file")"
    }
}

/// Suggestions for misspelt names.
public enum DidYouMean {
    /// Longest word (in characters) a suggestion is looked for: a longer one is no typo of
    /// a key, and the cost of comparing stays bounded.
    public static let maxWordLength = 64
    /// Most candidates compared for one word (a file can define 100k chains).
    public static let maxCandidates = 5000

    /// The closest candidate within a small edit distance, if any.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        guard word.utf8.count <= maxWordLength * 4 else { return nil }
        let lowered = Array(word.lowercased().unicodeScalars)
        guard lowered.count <= maxWordLength else { return nil }
        var best: (String, Int)?
        for candidate in candidates.prefix(maxCandidates) where candidate.utf8.count <= maxWordLength * 4 {
            let other = Array(candidate.lowercased().unicodeScalars)
            let limit = max(1, min(3, other.count / 3))
            guard abs(other.count - lowered.count) <= limit, let distance = editDistance(lowered, other, limit: limit) else { continue }
            // Ties go to the smallest name, so the hint is the same whatever the candidates' order
            // (a dictionary's keys, a set).
            if best == nil || distance < best!.1 || (distance == best!.1 && candidate < best!.0) { best = (candidate, distance) }
        }
        return best.map { MessageText.escaped($0.0, limit: MessageText.maxEchoed) }
    }

    /// ` (did you mean "x"?)` or an empty string.
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of two
    /// neighbouring characters (optimal string alignment): `plna` is one edit from `plan`.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        return editDistance(a, b, limit: max(a.count, b.count))!
    }

    /// The distance when it is at most `limit`, else `nil`. Three rows, not a table:
    /// memory is O(length), time O(length × limit) with the band.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar], limit: Int) -> Int? {
        if a.isEmpty { return b.count <= limit ? b.count : nil }
        if b.isEmpty { return a.count <= limit ? a.count : nil }
        let infinity = limit + 1
        var before = [Int](repeating: infinity, count: b.count + 1)  // row i - 2
        var previous = Array(0...b.count).map { min($0, infinity) }  // row i - 1
        var current = [Int](repeating: infinity, count: b.count + 1)
        for i in 1...a.count {
            current[0] = min(i, infinity)
            // Cells further than `limit` from the diagonal exceed the limit anyway.
            let low = max(1, i - limit), high = min(b.count, i + limit)
            if low > 1, low - 1 <= b.count { current[low - 1] = infinity }
            var rowBest = current[0]
            if low <= high {
                for j in low...high {
                    let cost = a[i - 1] == b[j - 1] ? 0 : 1
                    var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                    if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { value = min(value, before[j - 2] + 1) }
                    current[j] = min(value, infinity)
                    rowBest = min(rowBest, current[j])
                }
            }
            if high < b.count { current[high + 1] = infinity }
            if rowBest > limit { return nil }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count] <= limit ? previous[b.count] : nil
    }
}
