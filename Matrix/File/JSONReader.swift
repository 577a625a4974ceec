/// Reads JSON into typed values while collecting every problem instead of stopping at the
/// first: each accessor reports into the shared ``Diagnostics`` and returns `nil`. Public so
/// other JSON files of nestci (the service config) report exactly like matrix files.
public final class Diagnostics {
    public let file: String
    /// Most problems kept: past this a file is broken in bulk (a generated file, a wrong
    /// file), the first ones say what, and building more messages would cost time and
    /// memory for nothing.
    public static let maxIssues = 100
    private var recorded: [MatrixIssue] = []
    private var seen: Set<String> = []
    private var omitted = 0
    /// Every key some object of the file was checked against (see
    /// ``ObjectReader/rejectUnknownKeys(_:what:)``): what the reader accepts, for the
    /// documentation check.
    public var acceptedKeys: Set<String> { Set(acceptedByObject.values.joined()) }
    /// Per kind of object (`what`): one dictionary probe per object read, not one per key.
    private var acceptedByObject: [String: [String]] = [:]

    public init(file: String) { self.file = file }

    /// The problems found, and a last line counting those left out past ``maxIssues``.
    public var issues: [MatrixIssue] {
        guard omitted > 0 else { return recorded }
        return recorded + [MatrixIssue(file: file, path: "", message: "… and \(omitted) more problem\(omitted == 1 ? "" : "s") not shown (fix these first)")]
    }

    /// Whether further reports are only counted; callers skip costly checks then.
    public var isFull: Bool { recorded.count >= Self.maxIssues }

    /// Adds problems found elsewhere (a matrix file a config names).
    public func append(contentsOf other: [MatrixIssue]) {
        for issue in other { add(issue) }
    }

    /// `message` is only built while fewer than ``maxIssues`` were reported.
    public func report(_ path: String, _ value: JSONValue?, _ message: @autoclosure () -> String) {
        guard !isFull else {
            omitted += 1
            return
        }
        add(MatrixIssue(file: file, path: path, line: value?.line ?? 0, column: value?.column ?? 0, message: message()))
    }

    private func add(_ issue: MatrixIssue) {
        guard !isFull else {
            omitted += 1
            return
        }
        // The same mistake found once per cell is one mistake.
        guard seen.insert("\(issue.file)\u{0}\(issue.path)\u{0}\(issue.message)").inserted else { return }
        recorded.append(issue)
    }

    func accept(_ keys: [String], what: String) {
        if acceptedByObject[what] == nil { acceptedByObject[what] = keys }
    }
}

/// A JSON object being read: unknown keys are reported with a did-you-mean.
public struct ObjectReader {
    public let path: String
    public let value: JSONValue
    public let members: [(key: String, value: JSONValue)]
    public let diagnostics: Diagnostics

    /// `nil` (after reporting) when `value` is not an object.
    public init?(_ value: JSONValue, path: String, diagnostics: Diagnostics) {
        guard case .object(let members) = value.kind else {
            diagnostics.report(path, value, "expected an object, found \(value.typeName)")
            return nil
        }
        self.path = path
        self.value = value
        self.members = members
        self.diagnostics = diagnostics
    }

    public func childPath(_ key: String) -> String { JSONPath.join(path, key) }

    public subscript(key: String) -> JSONValue? { members.first { $0.key == key }?.value }

    /// Reports keys not in `known`, with a did-you-mean.
    public func rejectUnknownKeys(_ known: [String], what: String) {
        diagnostics.accept(known, what: what)
        for (key, value) in members where !known.contains(key) {
            diagnostics.report(
                childPath(key), value,
                "unknown key \(MessageText.quoted(key)) in \(what)\(DidYouMean.hint(for: key, among: known)) (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    public func required(_ key: String, what: String) -> JSONValue? {
        guard let value = self[key] else {
            diagnostics.report(path, value, "missing required key \"\(key)\" (\(what))")
            return nil
        }
        return value
    }

    public func string(_ key: String, required: Bool = false, what: String = "a string") -> String? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ValueReader.string(value, path: childPath(key), diagnostics: diagnostics)
    }

    /// `unit` is named in messages: `from 1 to 1440 (minutes)`.
    public func int(_ key: String, range: ClosedRange<Int>, required: Bool = false, unit: String = "") -> Int? {
        guard let value = required ? self.required(key, what: "a whole number") : self[key] else { return nil }
        return ValueReader.int(value, path: childPath(key), range: range, unit: unit, diagnostics: diagnostics)
    }

    public func bool(_ key: String) -> Bool? {
        guard let value = self[key] else { return nil }
        guard case .bool(let flag) = value.kind else {
            diagnostics.report(childPath(key), value, "expected true or false, found \(value.typeName)")
            return nil
        }
        return flag
    }

    public func object(_ key: String, required: Bool = false, what: String = "an object") -> ObjectReader? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ObjectReader(value, path: childPath(key), diagnostics: diagnostics)
    }

    public func array(_ key: String, required: Bool = false, what: String = "an array") -> [(path: String, value: JSONValue)]? {
        guard let value = required ? self.required(key, what: what) : self[key] else { return nil }
        return ValueReader.array(value, path: childPath(key), diagnostics: diagnostics)
    }

    public func strings(_ key: String) -> [String]? {
        guard let elements = array(key) else { return nil }
        return elements.compactMap { ValueReader.string($0.value, path: $0.path, diagnostics: diagnostics) }
    }

    public func stringMap(_ key: String) -> [String: String]? {
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

    static func int(_ value: JSONValue, path: String, range: ClosedRange<Int>, unit: String = "", diagnostics: Diagnostics) -> Int? {
        guard case .number(_, let number) = value.kind, number.rounded() == number, abs(number) < 1e15 else {
            diagnostics.report(path, value, "expected a whole number from \(range.lowerBound) to \(range.upperBound)\(unit), found \(value.typeName == "a number" ? "a fraction" : value.typeName)")
            return nil
        }
        guard range.contains(Int(number)) else {
            diagnostics.report(path, value, "\(Int(number)) is out of range (expected a whole number from \(range.lowerBound) to \(range.upperBound)\(unit))")
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
    /// Letters, digits, `_` and `-`, short: written bare. ASCII is checked byte by byte,
    /// since `Character.isLetter` is slow and every member of a 100k-key object gets a path.
    static func isPlain(_ key: String) -> Bool {
        guard !key.isEmpty, key.utf8.count <= MessageText.maxEchoed else { return false }
        var ascii = true
        for byte in key.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"):
                continue
            case 0x80...: ascii = false
            default: return false
            }
        }
        return ascii || key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" }
    }

    static func join(_ base: String, _ key: String) -> String {
        let plain = isPlain(key)
        let component = plain ? key : "[\(MessageText.quoted(key))]"
        if base.isEmpty { return plain ? key : component }
        return plain ? "\(base).\(key)" : "\(base)\(component)"
    }
}
