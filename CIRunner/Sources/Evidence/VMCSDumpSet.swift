import Foundation

/// All VMCS dumps found in one serial log, as stored in `vmcs.json`.
public struct VMCSDumpSet: Sendable, Hashable, Codable {
    /// Dumps in the order their first field appeared.
    public var dumps: [VMCSDump]
    /// Lines that started like a dump line (`CPU(0x..): (0x`) but could not be parsed.
    public var malformedLines: Int
    /// The first few malformed lines' numbers (at most `VMCSDumpParser.keptMalformedLineNumbers`),
    /// so a person can look at them.
    public var malformedLineNumbers: [Int]

    public init(dumps: [VMCSDump] = [], malformedLines: Int = 0, malformedLineNumbers: [Int] = []) {
        self.dumps = dumps
        self.malformedLines = malformedLines
        self.malformedLineNumbers = malformedLineNumbers
    }

    /// Dumps matching `cpu` and `kind` (nil matches any), in log order.
    public func dumps(cpu: UInt32? = nil, kind: VMCSKind? = nil) -> [VMCSDump] {
        dumps.filter { (cpu == nil || $0.cpu == cpu) && (kind == nil || $0.kind == kind) }
    }

    /// Pretty JSON with sorted keys, stable across runs so stored evidence diffs cleanly.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Writes `jsonData()` to `url` (conventionally `vmcs.json` beside the serial log), atomically.
    public func write(to url: URL) throws {
        try jsonData().write(to: url, options: .atomic)
    }

    /// Reads a `vmcs.json` written by `write(to:)`.
    public init(contentsOf url: URL) throws {
        self = try JSONDecoder().decode(VMCSDumpSet.self, from: Data(contentsOf: url))
    }
}
