/// Reads JSON into typed values while collecting every problem instead of stopping at the
/// first: each accessor reports into the shared ``Diagnostics`` and returns `nil`.
final class Diagnostics {
    let file: String
    private(set) var issues: [MatrixIssue] = []

    init(file: String) { self.file = file }

    func report(_ path: String, _ value: JSONValue?, _ message: String) {
        // The same mistake found once per cell is one mistake.
        if issues.contains(where: { $0.path == path && $0.message == message }) { return }
        issues.append(MatrixIssue(file: file, path: path, line: value?.line ?? 0, column: value?.column ?? 0, message: message))
    }
}

/// A JSON object being read: tracks which keys were used, so unknown ones are reported.
struct ObjectReader {
    let path: String
    let value: JSONValue
    let members: [(key: String, value: JSONValue)]
    let diagnostics: Diagnostics

    /// `nil` (after reporting) when `value` is not an object.
    init?(_ value: JSONValue, path: String, diagnostics: Diagnostics) {
        guard case .object(let members) = value.kind else {
            diagnostics.report(path, value, "expected an object, found \(value.typeName)")
            return nil
        }
        self.path = path
        self.value = value
        self.members = members
        self.diagnostics = diagnostics
    }

    func childPath(_ key: String) -> String { JSONPath.join(path, key) }

    subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    /// Reports keys not in `known`, with a did-you-mean.
    func rejectUnknownKeys(_ known: [String], what: String) {
        for (key, value) in members where !known.contains(key) {
            diagnostics.report(
                childPath(key), value,
                "unknown key \"\(key)\" in \(what)\(DidYouMean.hint(for: key, among: known)) (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    func required(_ key: String, what: String) -> JSONValue? {
        guard let value = self[key] else {
            diagnostics.report(path, value, "missing required key \"\(key)\" (\(what))")
            return nil
        }
        return value
    }

    func string(_ key: String, required: Bool = false, what: String = "a string") -> String? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ValueReader.string(value, path: childPath(key), diagnostics: diagnostics)
    }

    func int(_ key: String, range: ClosedRange<Int>, required: Bool = false) -> Int? {
        guard let value = required ? self.required(key, what: "a whole number") : self[key] else { return nil }
        return ValueReader.int(value, path: childPath(key), range: range, diagnostics: diagnostics)
    }

    func bool(_ key: String) -> Bool? {
        guard let value = self[key] else { return nil }
        guard case .bool(let flag) = value.kind else {
            diagnostics.report(childPath(key), value, "expected true or false, found \(value.typeName)")
            return nil
        }
        return flag
    }

    func object(_ key: String, required: Bool = false, what: String = "an object") -> ObjectReader? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ObjectReader(value, path: childPath(key), diagnostics: diagnostics)
    }

    func array(_ key: String, required: Bool = false, what: String = "an array") -> [(path: String, value: JSONValue)]? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ValueReader.array(value, path: childPath(key), diagnostics: diagnostics)
    }

    func strings(_ key: String) -> [String]? {
        guard let elements = array(key) else { return nil }
        return elements.compactMap { ValueReader.string($0.value, path: $0.path, diagnostics: diagnostics) }
    }

    func stringMap(_ key: String) -> [String: String]? {
        guard let object = object(key) else { return nil }
        var result: [String: String] = [:]
        for (name, value) in object.members {
            if let text = ValueReader.string(value, path: object.childPath(name), diagnostics: diagnostics) { result[name] = text }
        }
        return result
    }
}

enum ValueReader {
    static func string(_ value: JSONValue, path: String, diagnostics: Diagnostics) -> String? {
        guard case .string(let text) = value.kind else {
            diagnostics.report(path, value, "expected a string, found \(value.typeName)")
            return nil
        }
        return text
    }

    static func int(_ value: JSONValue, path: String, range: ClosedRange<Int>, diagnostics: Diagnostics) -> Int? {
        guard case .number(_, let number) = value.kind, number.rounded() == number, abs(number) < 1e15 else {
            diagnostics.report(path, value, "expected a whole number from \(range.lowerBound) to \(range.upperBound), found \(value.typeName == "a number" ? "a fraction" : value.typeName)")
            return nil
        }
        guard range.contains(Int(number)) else {
            diagnostics.report(path, value, "\(Int(number)) is out of range (expected \(range.lowerBound) to \(range.upperBound))")
            return nil
        }
        return Int(number)
    }

    static func array(_ value: JSONValue, path: String, diagnostics: Diagnostics) -> [(path: String, value: JSONValue)]? {
        guard case .array(let elements) = value.kind else {
            diagnostics.report(path, value, "expected an array, found \(value.typeName)")
            return nil
        }
        return elements.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
    }
}

/// JSON path notation used in messages: `a.b[2]`, with quoting for odd keys.
enum JSONPath {
    static func join(_ base: String, _ key: String) -> String {
        let plain = !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
        let component = plain ? key : "[\"\(key)\"]"
        if base.isEmpty { return plain ? key : component }
        return plain ? "\(base).\(key)" : "\(base)\(component)"
    }
}
