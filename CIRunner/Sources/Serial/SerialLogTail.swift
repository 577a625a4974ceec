/// The last `capacity` lines of a serial log, for reports such as "TIMEOUT after 300 s; the
/// console ended with: ...".
///
/// Keeps bytes in a ring of reused buffers, so appending every line of a long run allocates
/// nothing once the ring is warm; Strings are built only when the tail is read.
public struct SerialLogTail: Sendable {
    public let capacity: Int
    private var slots: [Slot] = []
    private var next = 0

    private struct Slot: Sendable {
        var number: Int
        var bytes: [UInt8]
        var isTruncated: Bool
    }

    public init(capacity: Int = 40) {
        precondition(capacity > 0, "a tail needs room for at least one line")
        self.capacity = capacity
    }

    /// Remembers `line`, forgetting the oldest line when full.
    public mutating func append(_ line: SerialLineView) {
        if slots.count < capacity {
            slots.append(Slot(number: line.number, bytes: Array(line.bytes), isTruncated: line.isTruncated))
            return
        }
        slots[next].number = line.number
        slots[next].isTruncated = line.isTruncated
        slots[next].bytes.removeAll(keepingCapacity: true)
        slots[next].bytes.append(contentsOf: line.bytes)
        next = (next + 1) % capacity
    }

    /// Remembers an owned line.
    public mutating func append(_ line: SerialLine) {
        var bytes = Array(line.text.utf8)
        bytes.withUnsafeMutableBytes {
            append(SerialLineView(number: line.number, bytes: UnsafeRawBufferPointer($0), isTruncated: line.isTruncated))
        }
    }

    /// The remembered lines, oldest first.
    public var lines: [SerialLine] {
        let ordered = slots.count < capacity ? slots[...] : slots[next...] + slots[..<next]
        return ordered.map { SerialLine(number: $0.number, text: String(decoding: $0.bytes, as: UTF8.self), isTruncated: $0.isTruncated) }
    }

    /// The remembered lines joined by newlines, as a report quotes them.
    public var text: String { lines.map(\.text).joined(separator: "\n") }
}
