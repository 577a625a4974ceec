/// A VMCS field: its 16-bit encoding, the Intel SDM's name for it, and the group and width
/// that the encoding's bits say.
///
/// Names come from the project's own table (`VMCSField+Table.swift`, after Intel SDM Vol. 3
/// Appendix B "Field Encoding in VMCS"). Encodings the table does not know still get their
/// group and width from the bits, and a name saying so, because a hypervisor may dump fields
/// of newer processors.
public struct VMCSField: Sendable, Hashable {
    public let encoding: UInt16
    /// The SDM's name; "(high)" is appended for the high half of a 64-bit field.
    public let name: String
    /// False when the table has no name for this encoding.
    public let isKnown: Bool

    /// Looks up `encoding` in the table, falling back to a description from its bits.
    public init(encoding: UInt16) {
        self.encoding = encoding
        let width = VMCSFieldWidth(encoding: encoding)
        // Bit 0 is the access type: 1 reads the high 32 bits of a 64-bit field.
        let isHigh = width == .bits64 && encoding & 1 == 1
        let base = isHigh ? encoding & ~1 : encoding
        if let name = Self.sdmNames[base] {
            self.name = isHigh ? "\(name) (high)" : name
            isKnown = true
        } else {
            let group = VMCSFieldGroup(encoding: encoding)
            self.name = "unknown \(width.title) \(group.title) field"
            isKnown = false
        }
    }

    /// Bits 11:10 of the encoding.
    public var group: VMCSFieldGroup { VMCSFieldGroup(encoding: encoding) }

    /// Bits 14:13 of the encoding.
    public var width: VMCSFieldWidth { VMCSFieldWidth(encoding: encoding) }

    /// True for the "high" access (bit 0 set) of a 64-bit field.
    public var isHighAccess: Bool { width == .bits64 && encoding & 1 == 1 }

    /// Index (bits 9:1 of the encoding) within its group and width.
    public var index: Int { Int((encoding >> 1) & 0x1ff) }

    /// "0x401a": how dumps and the SDM write encodings.
    public var hexEncoding: String { Self.hex(encoding) }

    /// Every field in the table, sorted by encoding.
    public static var all: [VMCSField] { sdmNames.keys.sorted().map { VMCSField(encoding: $0) } }

    static func hex(_ encoding: UInt16) -> String {
        let digits = String(encoding, radix: 16)
        return "0x" + String(repeating: "0", count: 4 - digits.count) + digits
    }
}
