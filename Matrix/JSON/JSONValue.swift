/// A parsed JSON value that remembers where it stood in the file, so that every
/// validation message can point at a line and column as well as a JSON path.
public struct JSONValue: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case object([(key: String, value: JSONValue)])
        case array([JSONValue])
        case string(String)
        /// The number's text as written (so `2` and `2.0` can be told apart) and its value.
        case number(String, Double)
        case bool(Bool)
        case null

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case (.object(let a), .object(let b)):
                return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
            case (.array(let a), .array(let b)): return a == b
            case (.string(let a), .string(let b)): return a == b
            case (.number(_, let a), .number(_, let b)): return a == b
            case (.bool(let a), .bool(let b)): return a == b
            case (.null, .null): return true
            default: return false
            }
        }
    }

    public var kind: Kind
    /// 1-based line and column of the value's first character.
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, line: Int = 0, column: Int = 0) {
        self.kind = kind
        self.line = line
        self.column = column
    }

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool { lhs.kind == rhs.kind }

    /// The JSON type's name, for "expected a string, found an array" messages.
    public var typeName: String {
        switch kind {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        }
    }

    /// The value as text for a cell axis: strings as they are, whole numbers without a
    /// fraction, booleans as `true`/`false`. `nil` for objects, arrays and null.
    public var scalarText: String? {
        switch kind {
        case .string(let text): return text
        case .number(let text, let value):
            if value.rounded() == value, abs(value) < 1e15 { return String(Int64(value)) }
            return text
        case .bool(let flag): return flag ? "true" : "false"
        default: return nil
        }
    }
}
