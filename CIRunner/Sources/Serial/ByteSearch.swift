/// Substring search over bytes, for the few places that look inside a line.
enum ByteSearch {
    /// Index of the first occurrence of `needle` in `haystack` at or after `start`.
    static func firstIndex(
        of needle: UnsafeBufferPointer<UInt8>, in haystack: UnsafeRawBufferPointer, from start: Int
    ) -> Int? {
        let count = needle.count
        guard count > 0 else { return start }
        guard haystack.count >= count, start <= haystack.count - count else { return nil }
        let first = needle[0]
        var i = start
        let last = haystack.count - count
        outer: while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < count {
                    if haystack[i + j] != needle[j] {
                        i += 1
                        continue outer
                    }
                    j += 1
                }
                return i
            }
            i += 1
        }
        return nil
    }
}
