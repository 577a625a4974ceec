import Foundation

extension MatrixFileDecoder {
    /// `knownIssues`: a list of entries, or the name of a JSON file (relative to the matrix)
    /// holding that list; a file's problems are reported at that file's lines.
    func decodeKnownIssues(_ value: JSONValue, path: String, componentNames: [String]) -> [KnownIssue] {
        if case .string(let name) = value.kind {
            return decodeKnownIssueFile(name, value: value, path: path, componentNames: componentNames)
        }
        guard let elements = ValueReader.array(value, path: path, diagnostics: diagnostics) else { return [] }
        return elements.compactMap { decodeKnownIssue($0.value, path: $0.path, componentNames: componentNames) }
    }

    private func decodeKnownIssueFile(_ name: String, value: JSONValue, path: String, componentNames: [String]) -> [KnownIssue] {
        guard !name.isEmpty else {
            diagnostics.report(path, value, "empty file name (give a list of known issues, or a JSON file holding one, relative to the matrix)")
            return []
        }
        let file = URL(fileURLWithPath: name, relativeTo: URL(fileURLWithPath: baseDirectory, isDirectory: true)).standardizedFileURL.path
        guard let data = FileManager.default.contents(atPath: file) else {
            let reason = FileManager.default.fileExists(atPath: file) ? "cannot be read (check its permissions)" : "does not exist (paths are relative to the matrix file's folder)"
            diagnostics.report(path, value, "known-issues file \(MessageText.quoted(file)) \(reason)")
            return []
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(String(decoding: data, as: UTF8.self))
        } catch {
            diagnostics.append(contentsOf: [MatrixIssue(file: file, path: "", line: error.line, column: error.column, message: "invalid JSON: \(error.message)")])
            return []
        }
        let own = Diagnostics(file: file)
        let reader = MatrixFileDecoder(diagnostics: own, baseDirectory: baseDirectory)
        guard let elements = ValueReader.array(root, path: "", diagnostics: own) else {
            diagnostics.append(contentsOf: own.issues)
            return []
        }
        let issues = elements.compactMap { reader.decodeKnownIssue($0.value, path: $0.path, componentNames: componentNames) }
        diagnostics.append(contentsOf: own.issues)
        return issues
    }

    func decodeKnownIssue(_ value: JSONValue, path: String, componentNames: [String]) -> KnownIssue? {
        guard let object = ObjectReader(value, path: path, diagnostics: diagnostics) else { return nil }
        object.rejectUnknownKeys(Self.knownIssueKeys, what: "a known issue")
        let signature = object.string("signature", required: true, what: "a regular expression over the failure signature, e.g. \"FAIL fail:halt .*VMLAUNCH\"")
        let link = object.string("link", required: true, what: "where the issue is tracked, e.g. \"https://bugs.example.org/123\"")
        if let link, link.isEmpty || link.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            diagnostics.report(object.childPath("link"), object["link"], "a link must be non-empty text without control characters")
        }
        if let signature { _ = checkRegex(signature, path: object.childPath("signature"), value: object["signature"]) }
        let component = object.string("component")
        if let component, !componentNames.contains(component) {
            diagnostics.report(
                object.childPath("component"), object["component"],
                "no component named \(MessageText.quoted(component))\(DidYouMean.hint(for: component, among: componentNames)) (components: \(MessageText.sortedList(componentNames)))")
        }
        let expires = object.string("expires")
        if let expires, KnownIssue.day(expires) == nil {
            diagnostics.report(object.childPath("expires"), object["expires"], "bad date \(MessageText.quoted(expires)) (expected YYYY-MM-DD, e.g. \"2027-03-01\")")
        }
        guard let signature, let link else { return nil }
        let line = object.value.line > 0 ? ":\(object.value.line):\(object.value.column)" : ""
        return KnownIssue(signature: signature, component: component, expires: expires, link: link, origin: "\(diagnostics.file)\(line): \(path)")
    }
}
