/// The diff as a person reads it in a terminal or a report:
///
///     VMCS02 of CPU 0, dump #1 (line 4) → VMCS02 of CPU 0, dump #1 (line 40)
///       before: line 3: CPU(0x00): VMCS dump before first VM entry
///       after:  line 39: CPU(0x00): VMRESUME error in nested virtualization
///     controls
///       0x401a  VM-entry instruction length (control_VM_entry_instruction_length)   0x00000001 → 0x00000000
///     2 masked fields differ (TSC offset, Host RSP); include masked fields to see them
extension VMCSDiff {
    public var text: String {
        var lines = ["\(before.title) → \(after.title)"]
        if let intro = before.introducedBy { lines.append("  before: line \(intro.number): \(intro.text)") }
        if let intro = after.introducedBy { lines.append("  after:  line \(intro.number): \(intro.text)") }
        if isEmpty { lines.append(maskedCount > 0 && !includesMasked ? "no differences outside the mask" : "no differences") }
        let labels = changes.map(Self.label)
        let nameWidth = labels.map(\.count).max() ?? 0
        var labelIndex = 0
        for section in sections {
            lines.append(section.group.title)
            for change in section.changes {
                let label = labels[labelIndex]
                labelIndex += 1
                let padding = String(repeating: " ", count: nameWidth - label.count)
                let marker = change.isMasked ? "  (masked)" : ""
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
