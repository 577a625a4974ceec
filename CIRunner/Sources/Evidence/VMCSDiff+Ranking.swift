/// Which changes of a diff point at the culprit. Diffing a passing -O0 dump against a
/// failing -O3 dump compares two different binaries: every bitmap, MSR area and page-table
/// address moves with the layout, and those moves drowned the one field that went to 0.
/// So a change that crosses 0 or all ones, a flipped control bit and an error or exit field
/// rank first, and two different non-zero page-aligned addresses rank last, as
/// "address differs (layout)".
extension VMCSDiff {
    /// How much a change says about the bug, most telling first.
    public enum Significance: Int, Sendable, Hashable, Comparable, Codable {
        /// Became or stopped being 0 or all ones, a control bit flipped, or an error or
        /// exit-reason field differs.
        case telling
        /// Any other difference (host RIP, guest registers, a field present on one side only).
        case other
        /// Two different non-zero page-aligned addresses (same low 12 bits, as an EPTP's
        /// flags): what moves when the binary's layout does.
        case layout

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
    }

    /// Control fields that are bit masks: any difference is a flipped control bit.
    static let controlBitFields: Set<UInt16> = [
        0x2018, 0x2034, 0x2035, 0x4000, 0x4002, 0x4004, 0x400c, 0x4012, 0x401e,
    ]

    /// Fields the processor writes to say what went wrong: VM-instruction error, exit reason,
    /// interruption and IDT-vectoring information and error codes, exit qualification.
    static let errorFields: Set<UInt16> = [0x4400, 0x4402, 0x4404, 0x4406, 0x4408, 0x440a, 0x6400]

    /// Every reported change, most telling first; equal ranks keep the display order
    /// (SDM group, then encoding).
    public var ranked: [Change] {
        changes.enumerated().sorted { ($0.element.significance, $0.offset) < ($1.element.significance, $1.offset) }.map(\.element)
    }

    /// The changes ranked `.layout`, in display order.
    public var layoutChanges: [Change] { changes.filter { $0.significance == .layout } }
}

extension VMCSDiff.Change {
    /// Where this change ranks (see ``VMCSDiff/Significance``).
    public var significance: VMCSDiff.Significance { note == nil ? (isLayout ? .layout : .other) : .telling }

    /// Why a change ranks first, as the diff prints it after the values: `became 0`,
    /// `stopped being all ones`, `control bits 0x00000400 flipped`, `error field`; nil for
    /// the others.
    public var note: String? {
        guard let old = before?.number, let new = after?.number else { return nil }
        let ones = isHighPart ? 0xffff_ffff : Self.allOnes(width, old, new)
        if new == 0 { return "became 0" }
        if old == 0 { return "stopped being 0" }
        if new == ones { return "became all ones" }
        if old == ones { return "stopped being all ones" }
        if VMCSDiff.controlBitFields.contains(encoding) {
            return "control bits \(VMCSValue.value(old ^ new).formatted(digits: width == .bits64 ? 16 : 8)) flipped"
        }
        if VMCSDiff.errorFields.contains(encoding) { return encoding == 0x4402 ? "exit reason" : "error field" }
        return nil
    }

    /// True when both sides are non-zero page-aligned addresses (equal low 12 bits, as an
    /// EPTP's flags) that differ above bit 11. Checked after ``note``: 0 and all ones rank first.
    private var isLayout: Bool {
        guard let old = before?.number, let new = after?.number, width == .bits64 || width == .natural, !isHighPart else {
            return false
        }
        return old & 0xfff == new & 0xfff && old & ~0xfff != 0 && new & ~0xfff != 0
    }

    private var isHighPart: Bool { width == .bits64 && encoding & 1 == 1 }

    /// All ones at this field's width. A natural-width field is printed at 32 bits by a
    /// 32-bit hypervisor, so `0xffffffff` counts as all ones when neither side has high bits.
    private static func allOnes(_ width: VMCSFieldWidth, _ old: UInt64, _ new: UInt64) -> UInt64 {
        switch width {
        case .bits16: 0xffff
        case .bits32: 0xffff_ffff
        case .bits64: UInt64.max
        case .natural: (old | new) >> 32 == 0 ? 0xffff_ffff : UInt64.max
        }
    }
}
