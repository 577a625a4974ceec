/// One line of a VMCS dump: `(0x4016) VMCS02.control_VM_entry_interruption_information = 0x80000603`.
public struct VMCSDumpField: Sendable, Hashable, Codable {
    public var encoding: UInt16
    /// The name the hypervisor printed (`control_VM_entry_interruption_information`).
    public var printedName: String
    /// Text printed before `VMCS0x.` on the line (`guest `, `nested.`), empty when none.
    public var prefix: String
    public var value: VMCSValue
    /// 1-based line number in the serial log.
    public var lineNumber: Int

    public init(encoding: UInt16, printedName: String, prefix: String = "", value: VMCSValue, lineNumber: Int) {
        self.encoding = encoding
        self.printedName = printedName
        self.prefix = prefix
        self.value = value
        self.lineNumber = lineNumber
    }

    /// The table entry for the encoding (SDM name, group, width).
    public var field: VMCSField { VMCSField(encoding: encoding) }
    public var sdmName: String { field.name }
    public var group: VMCSFieldGroup { VMCSFieldGroup(encoding: encoding) }
    public var width: VMCSFieldWidth { VMCSFieldWidth(encoding: encoding) }

    private enum CodingKeys: String, CodingKey {
        case encoding, printedName, prefix, value, lineNumber, sdmName, group, width
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let hex = try container.decode(String.self, forKey: .encoding)
        guard hex.hasPrefix("0x"), let encoding = UInt16(hex.dropFirst(2), radix: 16) else {
            throw DecodingError.dataCorruptedError(
                forKey: .encoding, in: container, debugDescription: "expected a 16-bit hex encoding like \"0x401a\", found \"\(hex)\"")
        }
        self.encoding = encoding
        printedName = try container.decode(String.self, forKey: .printedName)
        prefix = try container.decodeIfPresent(String.self, forKey: .prefix) ?? ""
        value = try container.decode(VMCSValue.self, forKey: .value)
        lineNumber = try container.decode(Int.self, forKey: .lineNumber)
    }

    /// Writes the derived SDM name, group and width too, so `vmcs.json` reads without the table.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(VMCSField.hex(encoding), forKey: .encoding)
        try container.encode(printedName, forKey: .printedName)
        try container.encode(prefix, forKey: .prefix)
        try container.encode(value, forKey: .value)
        try container.encode(lineNumber, forKey: .lineNumber)
        try container.encode(sdmName, forKey: .sdmName)
        try container.encode(group, forKey: .group)
        try container.encode(width, forKey: .width)
    }
}
