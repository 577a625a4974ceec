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
/// Memory: the dumps themselves plus one line per CPU; lines are capped by the scanner.
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

    private struct OpenDump: Sendable {
        var index: Int
        var encodings: Set<UInt16>
    }

    private struct CPUState: Sendable {
        /// The CPU's last non-dump line; number 0 while it has printed none.
        var lastTextNumber = 0
        var lastText: [UInt8] = []
        /// Dumps being printed, indexed by kind (01, 02, 12).
        var open: [OpenDump?] = [nil, nil, nil]
        var isPrinting: Bool { open[0] != nil || open[1] != nil || open[2] != nil }
    }

    private mutating func index(of cpu: UInt32) -> Int {
        if let lastCPU, lastCPU.id == cpu { return lastCPU.index }
        let k: Int
        if let known = cpuIndex[cpu] {
            k = known
        } else {
            k = cpuStates.count
            cpuStates.append(CPUState())
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
            cpuStates[k].lastTextNumber = line.number
            cpuStates[k].lastText.removeAll(keepingCapacity: true)
            cpuStates[k].lastText.append(contentsOf: line.bytes)
            // A CPU saying something else ends whatever dumps it was printing.
            if cpuStates[k].isPrinting { cpuStates[k].open = [nil, nil, nil] }
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

    private mutating func add(_ field: VMCSDumpLine.Field, _ line: SerialLineView) {
        let slot = VMCSKind.allCases.firstIndex(of: field.kind)!
        let k = index(of: field.cpu)
        if let open = cpuStates[k].open[slot], open.encodings.contains(field.encoding) {
            cpuStates[k].open[slot] = nil
        }
        if cpuStates[k].open[slot] == nil {
            let key = DumpKey(cpu: field.cpu, kind: field.kind)
            let occurrence = occurrences[key, default: 0]
            occurrences[key] = occurrence + 1
            let state = cpuStates[k]
            let intro =
                state.lastTextNumber > 0
                ? SourceLine(number: state.lastTextNumber, text: String(decoding: state.lastText, as: UTF8.self)) : nil
            dumps.append(VMCSDump(cpu: field.cpu, kind: field.kind, occurrence: occurrence, introducedBy: intro))
            cpuStates[k].open[slot] = OpenDump(index: dumps.count - 1, encodings: [])
        }
        cpuStates[k].open[slot]!.encodings.insert(field.encoding)
        let bytes = line.bytes
        dumps[cpuStates[k].open[slot]!.index].fields.append(
            VMCSDumpField(
                encoding: field.encoding,
                printedName: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.name]), as: UTF8.self),
                prefix: String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.prefix]), as: UTF8.self),
                value: field.value, lineNumber: line.number))
    }
}
