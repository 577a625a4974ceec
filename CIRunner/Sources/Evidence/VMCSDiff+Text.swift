/// The diff as a person reads it in a terminal or a report:
///
///     VMCS02 of CPU 0, dump #1 (line 4) → VMCS02 of CPU 0, dump #1 (line 40)
///       before: line 3: CPU(0x00): VMCS dump before first VM entry
///       after:  line 39: CPU(0x00): VMRESUME error in nested virtualization
///     controls
///       0x2026  VMREAD-bitmap address (control_VMREAD_bitmap_address)           0x0000000010b63000 → 0x0000000000000000  became 0
///       0x401a  VM-entry instruction length (control_VM_entry_instruction_length)   0x00000001 → 0x00000000  became 0
///     address differs (layout)
///       0x2000  Address of I/O bitmap A (control_IO_BitmapA_address)           0x0000000010a5e000 → 0x0000000010b5e000
///     2 masked fields differ (TSC offset, Host RSP); include masked fields to see them
///
/// Groups with a telling change (0, all ones, control bits, errors) come first, and within a
/// group its telling changes; layout-dependent addresses come last in a group of their own
/// (`VMCSDiff+Ranking.swift`).
extension VMCSDiff {
    public var text: String {
        var lines = ["\(before.title) → \(after.title)"]
        if let intro = before.introducedBy { lines.append("  before: line \(intro.number): \(intro.text)") }
        if let intro = after.introducedBy { lines.append("  after:  line \(intro.number): \(intro.text)") }
        if isEmpty { lines.append(maskedCount > 0 && !includesMasked ? "no differences outside the mask" : "no differences") }
        let nameWidth = changes.map { Self.label($0).count }.max() ?? 0
        var blocks = sections.compactMap { section -> (title: String, changes: [Change])? in
            let shown = section.changes.filter { $0.significance == .telling } + section.changes.filter { $0.significance == .other }
            return shown.isEmpty ? nil : (section.group.title, shown)
        }
        // Groups with a telling change first (an error field above a moved host RIP), SDM order otherwise.
        blocks = blocks.filter { $0.changes[0].significance == .telling } + blocks.filter { $0.changes[0].significance != .telling }
        if !layoutChanges.isEmpty { blocks.append(("address differs (layout)", layoutChanges)) }
        for block in blocks {
            lines.append(block.title)
            for change in block.changes {
                let label = Self.label(change)
                let padding = String(repeating: " ", count: nameWidth - label.count)
                let marker = (change.isMasked ? "  (masked)" : "") + (change.note.map { "  \($0)" } ?? "")
                lines.append(
                    "  \(VMCSField.hex(change.encoding))  \(label)\(padding)   "
                        + "\(Self.format(change.before, change.width)) → \(Self.format(change.after, change.width))\(marker)")
            }
        }
        if maskedCount > 0 && !includesMasked {
            let noun = maskedCount == 1 ? "field differs" : "fields differ"
            lines.append("\(maskedCount) masked \(noun) (\(maskedNames.joined(separator: ", "))); include masked fields to see them")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func label(_ change: Change) -> String {
        change.printedName.isEmpty || change.printedName == change.sdmName
            ? change.sdmName : "\(change.sdmName) (\(change.printedName))"
    }

    private static func format(_ value: VMCSValue?, _ width: VMCSFieldWidth) -> String {
        value?.formatted(digits: width.hexDigits) ?? "(absent)"
    }
}
