import Foundation

/// Finds VMCS dumps in a serial log, incrementally: feed it chunks of the log as they arrive
/// (or lines from your own `SerialScanner`), then `finish()`.
///
/// A dump is a run of field lines of one CPU about one VMCS (01, 02 or 12):
///
///     CPU(0x00): VMRESUME error in nested virtualization
///     CPU(0x00): (0x4016) VMCS02.control_VM_entry_interruption_information = 0x80000603
///     CPU(0x00): (0x4018) VMCS02.control_VM_entry_exception_errorcode = 0x00000000
///
/// - Text before `VMCS0x.` is kept as the field's `prefix` (`guest `, `nested.`).
/// - A new dump (occurrence) of a CPU and kind starts when an encoding repeats within the
///   current one, or when that CPU printed a non-dump line after the current dump's fields.
///   Lines of other CPUs do not end a dump, so two CPUs printing interleaved make two dumps.
/// - Each dump remembers the CPU's last non-dump line before it (`introducedBy`), which says
///   why it was printed ("VMCS dump before first VM entry", "VMLAUNCH error").
/// - Lines that start like a field (`CPU(0x..): (0x`) but do not parse are counted in
///   `malformedLines` and otherwise ignored; no input makes the parser fail.
///
/// Memory: the dumps themselves plus, per CPU, one line (capped by the scanner) and, once it
/// prints a dump, a 24 KiB bitmap of the encodings its open dumps hold.
public struct VMCSDumpParser: Sendable {
    /// How many malformed line numbers the result lists (all are counted).
    public static let keptMalformedLineNumbers = 100

    private var scanner: SerialScanner
    private var dumps: [VMCSDump] = []
    /// Per-CPU state in an array, found through `cpuIndex`: array elements mutate in place,
    /// where a dictionary value would be copied out and back on every line.
    private var cpuStates: [CPUState] = []
    private var cpuIndex: [UInt32: Int] = [:]
    /// Consecutive lines usually come from the same CPU: skip the hash lookup then.
    private var lastCPU: (id: UInt32, index: Int)?
    private var occurrences: [DumpKey: Int] = [:]
    private var malformedLineNumbers: [Int] = []

    /// Lines that were dump fields.
    public private(set) var fieldLines = 0
    /// Lines that looked like dump fields but did not parse.
    public private(set) var malformedLines = 0
    /// All other lines.
    public private(set) var otherLines = 0

    private struct DumpKey: Hashable, Sendable {
        var cpu: UInt32
        var kind: VMCSKind
    }

    private struct CPUState: Sendable {
        var id: UInt32
        /// The CPU's last non-dump line; number 0 while it has printed none.
        var lastTextNumber = 0
        /// Its bytes: the first `lastTextCount` of a buffer that only grows, so that keeping
        /// the line costs one memcpy (most lines of a log are some CPU's text).
        var lastText: [UInt8] = []
        var lastTextCount = 0
        /// Per kind slot (01, 02, 12): the index in `dumps` of the dump being printed, or -1.
        var open: [Int] = [-1, -1, -1]
        /// Per kind slot, a bit per 16-bit encoding: the fields the open dump has. A bitmap,
        /// not a Set: no hashing on every field line (a fifth of the scan's time with a Set).
        /// Empty until the CPU prints a field; bits are cleared when their dump closes.
        var seen: [UInt64] = []
        var isPrinting: Bool { open[0] >= 0 || open[1] >= 0 || open[2] >= 0 }

        init(id: UInt32) { self.id = id }

        mutating func keep(_ line: SerialLineView) {
            lastTextNumber = line.number
            let bytes = line.bytes
            if lastText.count < bytes.count { lastText = Array(repeating: 0, count: max(bytes.count, 2 * lastText.count, 128)) }
            if bytes.count > 0 { lastText.withUnsafeMutableBytes { $0.copyMemory(from: bytes) } }
            lastTextCount = bytes.count
        }
    }

    /// Bitmap words per kind slot: 65,536 encodings / 64.
    private static let seenWords = 1024

    private mutating func index(of cpu: UInt32) -> Int {
        if let lastCPU, lastCPU.id == cpu { return lastCPU.index }
        let k: Int
        if cpuStates.count <= 16, let known = cpuStates.firstIndex(where: { $0.id == cpu }) {
            // A few CPUs: a scan is cheaper than hashing.
            k = known
        } else if cpuStates.count > 16, let known = cpuIndex[cpu] {
            k = known
        } else {
            k = cpuStates.count
            cpuStates.append(CPUState(id: cpu))
            cpuIndex[cpu] = k
        }
        lastCPU = (cpu, k)
        return k
    }

    public init(maxLineLength: Int = SerialScanner.defaultMaxLineLength) {
        scanner = SerialScanner(maxLineLength: maxLineLength)
    }

    /// Parses a whole log held in memory.
    public static func parse(_ text: String) -> VMCSDumpSet {
        var parser = VMCSDumpParser()
        var text = text
        text.withUTF8 { parser.feed(UnsafeRawBufferPointer($0)) }
        return parser.finish()
    }

    /// Parses a log file, reading it in chunks.
    public static func parse(contentsOf path: String) throws -> VMCSDumpSet {
        // The follower treats a missing file as "not written yet"; here it is a mistake.
        guard FileManager.default.fileExists(atPath: path) else {
            throw SerialFollowError(path: path, operation: "open", errno: ENOENT)
        }
        var parser = VMCSDumpParser()
        let follower = SerialFileFollower(path: path)
        try follower.flush { parser.consume($0) }
        return parser.result
    }

    /// Scans the next chunk of the log.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) {
        // Move the scanner out so its line buffer stays uniquely referenced (no copy-on-write)
        // while the callback mutates the rest of self.
        var scanner = self.scanner
        self.scanner = SerialScanner(maxLineLength: scanner.maxLineLength)
        scanner.feed(chunk) { consume($0) }
        self.scanner = scanner
    }

    /// Scans the next chunk of the log.
    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Takes one line from a scanner the caller runs (e.g. one shared with the verdict
    /// watcher). Use either this or `feed`, not both, or line numbers will disagree.
    public mutating func consume(_ line: SerialLineView) {
        switch VMCSDumpLine.classify(line.bytes) {
        case .other:
            otherLines += 1
        case .cpuText(let cpu):
            otherLines += 1
            let k = index(of: cpu)
            cpuStates[k].keep(line)
            // A CPU saying something else ends whatever dumps it was printing.
            if cpuStates[k].isPrinting { for slot in 0..<3 { close(k, slot) } }
        case .malformed:
            malformedLines += 1
            if malformedLineNumbers.count < Self.keptMalformedLineNumbers { malformedLineNumbers.append(line.number) }
        case .field(let field):
            fieldLines += 1
            add(field, line)
        }
    }

    /// Ends the log (parsing an unterminated last line) and returns everything found.
    public mutating func finish() -> VMCSDumpSet {
        var scanner = self.scanner
        self.scanner = SerialScanner(maxLineLength: scanner.maxLineLength)
        scanner.finish { consume($0) }
        self.scanner = scanner
        return result
    }

    /// The dumps found so far (the last one possibly still growing).
    public var result: VMCSDumpSet {
        VMCSDumpSet(dumps: dumps, malformedLines: malformedLines, malformedLineNumbers: malformedLineNumbers)
    }

    /// Ends CPU `k`'s open dump of kind `slot`, if any, clearing its fields' bits.
    private mutating func close(_ k: Int, _ slot: Int) {
        let index = cpuStates[k].open[slot]
        guard index >= 0 else { return }
        for field in dumps[index].fields {
            cpuStates[k].seen[slot * Self.seenWords + Int(field.encoding >> 6)] = 0
        }
        cpuStates[k].open[slot] = -1
    }

    private mutating func add(_ field: VMCSDumpLine.Field, _ line: SerialLineView) {
        let slot: Int
        switch field.kind {
        case .vmcs01: slot = 0
        case .vmcs02: slot = 1
        case .vmcs12: slot = 2
        }
        let k = index(of: field.cpu)
        let word = slot * Self.seenWords + Int(field.encoding >> 6)
        let bit = UInt64(1) << (field.encoding & 63)
        if cpuStates[k].open[slot] >= 0, cpuStates[k].seen[word] & bit != 0 {
            close(k, slot)
        }
        if cpuStates[k].open[slot] < 0 {
            let key = DumpKey(cpu: field.cpu, kind: field.kind)
            let occurrence = occurrences[key, default: 0]
            occurrences[key] = occurrence + 1
            let state = cpuStates[k]
            let intro =
                state.lastTextNumber > 0
                ? SourceLine(number: state.lastTextNumber, text: String(decoding: state.lastText.prefix(state.lastTextCount), as: UTF8.self)) : nil
            dumps.append(VMCSDump(cpu: field.cpu, kind: field.kind, occurrence: occurrence, introducedBy: intro))
            cpuStates[k].open[slot] = dumps.count - 1
            if cpuStates[k].seen.isEmpty { cpuStates[k].seen = Array(repeating: 0, count: 3 * Self.seenWords) }
        }
        cpuStates[k].seen[word] |= bit
        let bytes = line.bytes
        dumps[cpuStates[k].open[slot]].fields.append(
            VMCSDumpField(
                encoding: field.encoding,
                printedName: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self),
                prefix: field.prefix.isEmpty ? "" : String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.prefix]), as: UTF8.self),
                value: field.value, lineNumber: line.number))
    }
}
