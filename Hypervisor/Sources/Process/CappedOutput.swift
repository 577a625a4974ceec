/// Keeps the first and the last bytes of a stream that may be far too long to hold:
/// a build log or an emulator's chatter. The middle is dropped and the cut is noted.
struct CappedOutput {
    let limit: Int
    private(set) var head: [UInt8] = []
    private var tail: [UInt8] = []
    private(set) var dropped = 0

    init(limit: Int) { self.limit = max(limit, 64) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        let headRoom = limit / 2 - head.count
        if headRoom > 0 {
            let take = min(headRoom, rest.count)
            head.append(contentsOf: rest.prefix(take))
            rest = rest.dropFirst(take)
        }
        guard !rest.isEmpty else { return }
        let tailLimit = limit - limit / 2
        tail.append(contentsOf: rest)
        if tail.count > 2 * tailLimit {
            let excess = tail.count - tailLimit
            dropped += excess
            tail.removeFirst(excess)
        }
    }

    var truncated: Bool { dropped > 0 || tail.count > limit - limit / 2 }

    /// The kept text, with a marker line where bytes were dropped.
    var text: String {
        let tailLimit = limit - limit / 2
        var kept = tail
        var cut = dropped
        if kept.count > tailLimit {
            cut += kept.count - tailLimit
            kept.removeFirst(kept.count - tailLimit)
        }
        var bytes = head
        if cut > 0 {
            bytes.append(contentsOf: Array("\n[... \(cut) bytes cut by nestci ...]\n".utf8))
        }
        bytes.append(contentsOf: kept)
        return String(decoding: bytes, as: UTF8.self)
    }
}
