import Matrix

// The service config is read with Matrix's reader, so its errors print and exit exactly
// like a matrix file's (file:line:col: JSON path: what to do, with a did-you-mean).
typealias ConfigIssues = Diagnostics
typealias ConfigObject = ObjectReader

extension ObjectReader {
    init?(_ value: JSONValue, path: String, issues: Diagnostics) {
        self.init(value, path: path, diagnostics: issues)
    }
}
