/// A line handed out by `SerialScanner`, borrowed: `bytes` points into the scanner's or the
/// caller's buffer and is valid only inside the callback that received it. Copy (`text`,
/// `line`) what must outlive the call. Borrowing is what keeps the scan free of allocations:
/// most serial lines matter to nobody and never become a `String`.
public struct SerialLineView {
    /// 1-based line number in the log.
    public let number: Int
    /// The line without its terminator and without NUL bytes; possibly invalid UTF-8.
    public let bytes: UnsafeRawBufferPointer
    /// True when the line was longer than the scanner's cap and its tail was dropped.
    public let isTruncated: Bool

    public init(number: Int, bytes: UnsafeRawBufferPointer, isTruncated: Bool = false) {
        self.number = number
        self.bytes = bytes
        self.isTruncated = isTruncated
    }

    /// The line as text; invalid UTF-8 becomes U+FFFD.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// An owned copy.
    public var line: SerialLine { SerialLine(number: number, text: text, isTruncated: isTruncated) }

    /// True when the line starts with the ASCII bytes of `prefix`; compares bytes, builds no String.
    public func hasPrefix(_ prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return prefix.withUTF8Buffer { expected in
            for i in 0..<count where bytes[i] != expected[i] { return false }
            return true
        }
    }

    /// True when the line contains the ASCII bytes of `needle` anywhere.
    public func contains(_ needle: StaticString) -> Bool {
        needle.withUTF8Buffer { ByteSearch.firstIndex(of: $0, in: bytes, from: 0) != nil }
    }
}

/// A serial line owned by its holder.
public struct SerialLine: Sendable, Hashable, Codable {
    public var number: Int
    public var text: String
    public var isTruncated: Bool

    public init(number: Int, text: String, isTruncated: Bool = false) {
        self.number = number
        self.text = text
        self.isTruncated = isTruncated
    }
}
