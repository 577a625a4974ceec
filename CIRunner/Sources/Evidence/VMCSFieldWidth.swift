/// The width of a VMCS field: bits 14:13 of its encoding (Intel SDM Vol. 3, Appendix B).
public enum VMCSFieldWidth: String, Sendable, Hashable, Codable, CaseIterable {
    case bits16
    case bits64
    case bits32
    /// 32 bits on processors without Intel 64, 64 bits with it.
    case natural

    /// Decodes bits 14:13 of a field encoding.
    public init(encoding: UInt16) {
        switch (encoding >> 13) & 0b11 {
        case 0: self = .bits16
        case 1: self = .bits64
        case 2: self = .bits32
        default: self = .natural
        }
    }

    /// Hex digits to show a value of this width with, so that equal widths line up in a diff.
    /// Natural-width fields are shown at 64 bits: a 32-bit hypervisor's dump then still aligns.
    public var hexDigits: Int {
        switch self {
        case .bits16: 4
        case .bits32: 8
        case .bits64, .natural: 16
        }
    }

    /// A short label: "16-bit", "32-bit", "64-bit", "natural-width".
    public var title: String {
        switch self {
        case .bits16: "16-bit"
        case .bits32: "32-bit"
        case .bits64: "64-bit"
        case .natural: "natural-width"
        }
    }
}
