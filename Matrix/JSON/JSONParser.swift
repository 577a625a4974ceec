/// A small strict JSON parser (RFC 8259) that keeps line/column positions and the order
/// of object keys. Foundation's JSONSerialization loses both, and on Linux it cannot tell
/// `true` from `1`; matrix validation needs all three.
public struct JSONParser {
    /// A syntax error with its position.
    public struct SyntaxError: Error, Sendable, Equatable {
        public var message: String
        public var line: Int
        public var column: Int
    }

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0
    private var depth = 0
    private var valueCount = 0
    /// Most values in one document. A matrix holds thousands; 10 MB of `1,` would be 5M
    /// values and about 400 MB as a tree, so a file past this is refused while it is read.
    public static let maxValues = 1_000_000
    /// Where the column was last counted on this line, so counting characters (not bytes)
    /// stays linear over the file: the index only moves forward.
    private var counted = (index: 0, column: 1)

    public init(_ text: String) { bytes = Array(text.utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Parses one JSON document (trailing white space allowed, nothing else).
    public static func parse(_ text: String) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(text)
        return try parser.parseDocument()
    }

    public mutating func parseDocument() throws(SyntaxError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        if index < bytes.count { throw error("unexpected text after the JSON document") }
        return value
    }

    /// 1-based column in characters (Unicode scalars), not bytes, as editors count.
    private mutating func column() -> Int {
        if counted.index < lineStart || counted.index > index { counted = (lineStart, 1) }
        var column = counted.column
        for position in counted.index..<index where bytes[position] & 0xC0 != 0x80 { column += 1 }
        counted = (index, column)
        return column
    }

    private mutating func error(_ message: String) -> SyntaxError {
        SyntaxError(message: message, line: line, column: column())
    }

    /// The character at `index`, escaped for a message (a control byte or an escape
    /// sequence must not reach the terminal as it is).
    private func characterHere() -> String {
        var end = index + 1
        while end < bytes.count, end < index + 4, bytes[end] & 0xC0 == 0x80 { end += 1 }
        return MessageText.escaped(String(decoding: bytes[index..<min(end, bytes.count)], as: UTF8.self))
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): index += 1
            case UInt8(ascii: "\n"):
                index += 1
                line += 1
                lineStart = index
            default: return
            }
        }
    }

    private mutating func parseValue() throws(SyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of file, expected a value") }
        valueCount += 1
        if valueCount > Self.maxValues { throw error("more than \(Self.maxValues) values in one file (a matrix or config needs far fewer; is this the right file?)") }
        let (startLine, startColumn) = (line, column())
        func at(_ kind: JSONValue.Kind) -> JSONValue { JSONValue(kind, line: startLine, column: startColumn) }
        switch bytes[index] {
        case UInt8(ascii: "{"): return at(try parseObject())
        case UInt8(ascii: "["): return at(try parseArray())
        case UInt8(ascii: "\""): return at(.string(try parseString()))
        case UInt8(ascii: "t"): try expectWord("true"); return at(.bool(true))
        case UInt8(ascii: "f"): try expectWord("false"); return at(.bool(false))
        case UInt8(ascii: "n"): try expectWord("null"); return at(.null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return at(try parseNumber())
        default:
            throw error("unexpected character '\(characterHere())', expected a value")
        }
    }

    private mutating func expectWord(_ word: String) throws(SyntaxError) {
        let utf8 = Array(word.utf8)
        guard index + utf8.count <= bytes.count, Array(bytes[index..<(index + utf8.count)]) == utf8 else {
            throw error("invalid literal, expected '\(word)'")
        }
        index += utf8.count
    }

    private mutating func enter() throws(SyntaxError) {
        depth += 1
        if depth > 200 { throw error("nesting deeper than 200 levels") }
    }

    private mutating func parseObject() throws(SyntaxError) -> JSONValue.Kind {
        try enter()
        defer { depth -= 1 }
        index += 1
        var members: [(key: String, value: JSONValue)] = []
        var keys: Set<String> = []  // a set: 100k keys in one object stay linear
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a key in double quotes")
            }
            let keyStart = (line: line, column: column())
            let key = try parseString()
            guard keys.insert(key).inserted else {
                throw SyntaxError(message: "duplicate key \(MessageText.quoted(key)) (each key may appear once in an object)", line: keyStart.line, column: keyStart.column)
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after key \(MessageText.quoted(key))") }
            index += 1
            skipWhitespace()
            members.append((key, try parseValue()))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(members)
            }
            throw error("expected ',' or '}' in an object")
        }
    }

    private mutating func parseArray() throws(SyntaxError) -> JSONValue.Kind {
        try enter()
        defer { depth -= 1 }
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of file inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(elements)
            }
            throw error("expected ',' or ']' in an array")
        }
    }

    private mutating func parseString() throws(SyntaxError) -> String {
        index += 1
        var out: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { break }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    index -= 2
                    let scalar = try parseUnicodeEscape()
                    UTF8.encode(scalar) { out.append($0) }
                default:
                    index -= 1
                    throw error("invalid escape '\\\(characterHere())' in a string (valid: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
                }
            case 0..<0x20:
                throw error("control character in a string (write it as an escape such as \\n)")
            default:
                out.append(byte)
                index += 1
            }
        }
        throw error("unterminated string")
    }

    /// `\\uXXXX` at `index`, or a `\\uD8xx\\uDCxx` surrogate pair. A lone or reversed
    /// surrogate is an error at the escape: it encodes no character.
    private mutating func parseUnicodeEscape() throws(SyntaxError) -> Unicode.Scalar {
        let startColumn = column()
        func fail(_ message: String) -> SyntaxError { SyntaxError(message: message, line: line, column: startColumn) }
        index += 2
        let high = try parseHex4()
        if (0xDC00..<0xE000).contains(high) {
            throw fail("invalid \\u escape: \\u\(hex(high)) is the second half of a surrogate pair with no first half (write the character itself, or a \\uD800-\\uDBFF escape before it)")
        }
        guard (0xD800..<0xDC00).contains(high) else {
            // Not a surrogate, so a valid scalar.
            return Unicode.Scalar(high)!
        }
        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
            throw fail("invalid \\u escape: \\u\(hex(high)) is the first half of a surrogate pair, and no \\uDC00-\\uDFFF escape follows it")
        }
        index += 2
        let low = try parseHex4()
        guard (0xDC00..<0xE000).contains(low) else {
            throw fail("invalid \\u escape: \\u\(hex(high)) is the first half of a surrogate pair, but \\u\(hex(low)) is not a second half (\\uDC00-\\uDFFF)")
        }
        // Both halves are in range, so the result is in 0x10000...0x10FFFF.
        return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private mutating func parseHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("invalid hex digit in a \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(SyntaxError) -> JSONValue.Kind {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits() -> Int {
            let begin = index
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            return index - begin
        }
        let integerStart = index
        let integerDigits = digits()
        guard integerDigits > 0 else { throw error("invalid number") }
        if integerDigits > 1, bytes[integerStart] == UInt8(ascii: "0") {
            index = integerStart
            throw error("invalid number: leading zero (JSON writes 1, not 01; quote it to keep the zero: \"01\")")
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard digits() > 0 else { throw error("invalid number: digits expected after '.'") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard digits() > 0 else { throw error("invalid number: digits expected in the exponent") }
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text) else { throw error("invalid number \(MessageText.quoted(text))") }
        return .number(text, value)
    }
}
