/// One VMCS dump: consecutive field lines of one CPU about one VMCS.
public struct VMCSDump: Sendable, Hashable, Codable {
    /// The CPU number printed in `CPU(0x..)`.
    public var cpu: UInt32
    public var kind: VMCSKind
    /// 0 for the first dump of this CPU and kind in the log, 1 for the next, ...
    public var occurrence: Int
    /// The last non-dump line of the same CPU before the first field, e.g.
    /// `CPU(0x00): VMRESUME error in nested virtualization`; nil when the CPU printed none.
    public var introducedBy: SourceLine?
    /// Fields in the order printed.
    public var fields: [VMCSDumpField]

    public init(cpu: UInt32, kind: VMCSKind, occurrence: Int, introducedBy: SourceLine?, fields: [VMCSDumpField] = []) {
        self.cpu = cpu
        self.kind = kind
        self.occurrence = occurrence
        self.introducedBy = introducedBy
        self.fields = fields
    }

    /// The field with `encoding`, the last one printed if it appears twice.
    public func field(_ encoding: UInt16) -> VMCSDumpField? {
        fields.last { $0.encoding == encoding }
    }

    /// Line numbers of the first and last field.
    public var lineRange: ClosedRange<Int>? {
        guard let first = fields.first, let last = fields.last else { return nil }
        return first.lineNumber...last.lineNumber
    }

    /// "VMCS02 of CPU 0, dump #1 (line 812)": how a person refers to this dump.
    public var title: String {
        var text = "\(kind.rawValue) of CPU \(cpu), dump #\(occurrence + 1)"
        if let first = fields.first { text += " (line \(first.lineNumber))" }
        return text
    }
}
