import Matrix

/// Collects every problem in a configuration file, as ``MatrixIssue``s so they print and
/// exit like matrix errors (file:line:col: path: message).
///
/// Matrix keeps its own object reader internal; this is the same idea over the public
/// ``JSONValue``, small enough that sharing it is not worth widening Matrix's API.
final class ConfigIssues {
    let file: String
    private(set) var issues: [MatrixIssue] = []

    init(file: String) { self.file = file }

    func report(_ path: String, _ value: JSONValue?, _ message: String) {
        issues.append(MatrixIssue(file: file, path: path, line: value?.line ?? 0, column: value?.column ?? 0, message: message))
    }

    func append(contentsOf other: [MatrixIssue]) { issues += other }
}

/// A JSON object being read: unknown keys are reported with a did-you-mean.
struct ConfigObject {
    let path: String
    let value: JSONValue
    let members: [(key: String, value: JSONValue)]
    let issues: ConfigIssues

    init?(_ value: JSONValue, path: String, issues: ConfigIssues) {
        guard case .object(let members) = value.kind else {
            issues.report(path, value, "expected an object, found \(value.typeName)")
            return nil
        }
        self.path = path
        self.value = value
        self.members = members
        self.issues = issues
    }

    subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func rejectUnknownKeys(_ known: [String], what: String) {
        for (key, value) in members where !known.contains(key) {
            let hint = DidYouMean.suggestion(for: key, among: known).map { " (did you mean \"\($0)\"?)" } ?? ""
            issues.report(childPath(key), value, "unknown key \"\(key)\" in \(what)\(hint) (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    func string(_ key: String) -> String? {
        guard let value = self[key] else { return nil }
        guard case .string(let text) = value.kind else {
            issues.report(childPath(key), value, "expected a string, found \(value.typeName)")
            return nil
        }
        return text
    }

    func int(_ key: String, range: ClosedRange<Int>, unit: String = "") -> Int? {
        guard let value = self[key] else { return nil }
        let accepted = "a whole number from \(range.lowerBound) to \(range.upperBound)\(unit)"
        guard case .number(_, let number) = value.kind, number.rounded() == number, abs(number) < 1e15 else {
            issues.report(childPath(key), value, "expected \(accepted), found \(value.typeName == "a number" ? "a fraction" : value.typeName)")
            return nil
        }
        guard range.contains(Int(number)) else {
            issues.report(childPath(key), value, "\(Int(number)) is out of range (expected \(accepted))")
            return nil
        }
        return Int(number)
    }

    func bool(_ key: String) -> Bool? {
        guard let value = self[key] else { return nil }
        guard case .bool(let flag) = value.kind else {
            issues.report(childPath(key), value, "expected true or false, found \(value.typeName)")
            return nil
        }
        return flag
    }

    func object(_ key: String) -> ConfigObject? {
        guard let value = self[key] else { return nil }
        return ConfigObject(value, path: childPath(key), issues: issues)
    }
}
