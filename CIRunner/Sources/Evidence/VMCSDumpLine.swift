/// What one serial line is, to the VMCS dump parser. Classifying works on bytes and builds no
/// String; only field lines are worth one.
enum VMCSDumpLine {
    /// Not printed by a CPU (`CPU(0x..)` missing): banners, E820 maps, LHV without a prefix.
    case other
    /// A CPU's line that is not a dump field, e.g. `CPU(0x00): VMRESUME error in nested virtualization`.
    case cpuText(cpu: UInt32)
    /// `CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x80000603`.
    case field(Field)
    /// Starts like a field (`CPU(0x..): (0x`) but is not one: truncated, bad hex, no `=`.
    case malformed

    struct Field {
        var cpu: UInt32
        var kind: VMCSKind
        var encoding: UInt16
        var prefix: Range<Int>
        var name: Range<Int>
        var value: VMCSValue
    }

    // ASCII
    private static let space: UInt8 = 0x20, tab: UInt8 = 0x09, cr: UInt8 = 0x0d
    private static let openParen: UInt8 = 0x28, closeParen: UInt8 = 0x29, colon: UInt8 = 0x3a
    private static let equals: UInt8 = 0x3d, dot: UInt8 = 0x2e, zero: UInt8 = 0x30, x: UInt8 = 0x78

    static func classify(_ line: UnsafeRawBufferPointer) -> VMCSDumpLine {
        let n = line.count
        // "CPU(" — most lines of a hypervisor's console fail here or at the next check.
        guard n >= 4, line[0] == 0x43, line[1] == 0x50, line[2] == 0x55, line[3] == openParen else { return .other }
        var i = 4
        guard let cpu = hex(line, &i, maxDigits: 8), i < n, line[i] == closeParen else {
            return looksLikeField(line) ? .malformed : .other
        }
        i += 1
        // "): " then "(0x" marks a field; anything else ("CPU(0x00) does not support VT") is text.
        guard i + 1 < n, line[i] == colon, line[i + 1] == space else { return .cpuText(cpu: UInt32(cpu)) }
        i += 2
        guard i + 2 < n, line[i] == openParen, line[i + 1] == zero, line[i + 2] == x else {
            return .cpuText(cpu: UInt32(cpu))
        }
        i += 1
        guard let encoding = hex(line, &i, maxDigits: 4),
            i + 1 < n, line[i] == closeParen, line[i + 1] == space
        else { return .malformed }
        i += 2
        guard let (kind, kindStart, nameStart) = findKind(line, from: i) else { return .malformed }
        var end = nameStart
        while end < n, line[end] != space, line[end] != equals { end += 1 }
        guard end > nameStart else { return .malformed }
        var j = end
        skipBlanks(line, &j)
        guard j < n, line[j] == equals else { return .malformed }
        j += 1
        skipBlanks(line, &j)
        let value: VMCSValue
        if let number = hex(line, &j, maxDigits: 16) {
            value = .value(number)
        } else if matches(line, at: j, "unavailable") {
            j += 11
            value = .unavailable
        } else {
            return .malformed
        }
        skipBlanks(line, &j)
        guard j == n else { return .malformed }
        return .field(
            Field(
                cpu: UInt32(cpu), kind: kind, encoding: UInt16(encoding), prefix: i..<kindStart, name: nameStart..<end,
                value: value))
    }

    /// For a line whose `CPU(` part is damaged: still count it as malformed if the rest is a field.
    private static func looksLikeField(_ line: UnsafeRawBufferPointer) -> Bool {
        let marker: StaticString = "): (0x"
        return marker.withUTF8Buffer { ByteSearch.firstIndex(of: $0, in: line, from: 0) != nil }
    }

    /// Finds `VMCS01.`, `VMCS02.` or `VMCS12.`; returns the kind, where `VMCS` starts and where the name starts.
    private static func findKind(_ line: UnsafeRawBufferPointer, from start: Int) -> (VMCSKind, Int, Int)? {
        let n = line.count
        var i = start
        while i + 7 <= n {
            if line[i] == 0x56, line[i + 1] == 0x4d, line[i + 2] == 0x43, line[i + 3] == 0x53, line[i + 6] == dot {
                switch (line[i + 4], line[i + 5]) {
                case (0x30, 0x31): return (.vmcs01, i, i + 7)
                case (0x30, 0x32): return (.vmcs02, i, i + 7)
                case (0x31, 0x32): return (.vmcs12, i, i + 7)
                default: break
                }
            }
            // The prefix never contains a space-free "=": stop at the value so we don't scan it.
            if line[i] == equals { return nil }
            i += 1
        }
        return nil
    }

    /// Parses `0x` + 1...`maxDigits` hex digits at `i`, advancing past them; nil (and `i`
    /// unspecified) when there are none or too many, so huge numbers are rejected, not wrapped.
    private static func hex(_ line: UnsafeRawBufferPointer, _ i: inout Int, maxDigits: Int) -> UInt64? {
        let n = line.count
        // A local index, stored back once: an inout one is kept in memory on every digit,
        // and this loop runs for every digit of every dump value (a third of the scan).
        // Where `i` ends on failure is as before (callers look for `unavailable` there).
        var k = i
        guard k + 1 < n, line[k] == zero, line[k + 1] == x else { return nil }
        k += 2
        let first = k
        var value: UInt64 = 0
        while k < n {
            let byte = line[k]
            // Branch-free: whether a digit is 0–9 or a–f is random in a dump, and a branch on
            // it mispredicts on a third of them. Bit 31 of `isDigit` / `isLetter` is set when
            // the byte is 0–9 / a–f (`| 0x20` folds A–F onto a–f and nothing else into it).
            let isDigit = UInt32(byte &- 0x30) &- 10
            let isLetter = UInt32((byte | 0x20) &- 0x61) &- 6
            guard (isDigit | isLetter) & 0x8000_0000 != 0 else { break }
            let digit = (byte & 0x0f) &+ 9 &* (byte >> 6)
            guard k - first < maxDigits else {
                i = k
                return nil
            }
            value = value << 4 | UInt64(digit)
            k += 1
        }
        i = k
        return k > first ? value : nil
    }

    private static func skipBlanks(_ line: UnsafeRawBufferPointer, _ i: inout Int) {
        while i < line.count, line[i] == space || line[i] == tab || line[i] == cr { i += 1 }
    }

    private static func matches(_ line: UnsafeRawBufferPointer, at i: Int, _ word: StaticString) -> Bool {
        word.withUTF8Buffer { expected in
            guard i + expected.count <= line.count else { return false }
            for k in 0..<expected.count where line[i + k] != expected[k] { return false }
            return true
        }
    }
}
