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
    public var description: String {
        let position = line > 0 ? "\(file):\(line):\(column)" : file
        return path.isEmpty ? "\(position): \(message)" : "\(position): \(path): \(message)"
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
    /// The closest candidate within a small edit distance, if any.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let lowered = word.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            let limit = max(1, min(3, candidate.count / 3))
            if distance <= limit, best == nil || distance < best!.1 { best = (candidate, distance) }
        }
        return best?.0
    }

    /// ` (did you mean "x"?)` or an empty string.
    static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        suggestion(for: word, among: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// Edit distance counting insertions, deletions, substitutions and swaps of two
    /// neighbouring characters (optimal string alignment): `plna` is one edit from `plan`.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
