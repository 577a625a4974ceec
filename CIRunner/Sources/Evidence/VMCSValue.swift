/// A dumped field's value: a number, or "unavailable" (the hypervisor could not read it, e.g.
/// a field the processor does not support).
///
/// Encoded in JSON as a hex string ("0x80000603") or "unavailable": JSON numbers lose
/// precision above 2^53 in most readers, and addresses are read in hex anyway.
public enum VMCSValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case value(UInt64)
    case unavailable

    /// The number, or nil when unavailable.
    public var number: UInt64? {
        if case .value(let number) = self { return number }
        return nil
    }

    /// Hex padded to `digits` ("0x00000001"), or "unavailable".
    public func formatted(digits: Int) -> String {
        guard case .value(let number) = self else { return "unavailable" }
        let hex = String(number, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, digits - hex.count)) + hex
    }

    public var description: String { formatted(digits: 0) }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        if text == "unavailable" {
            self = .unavailable
        } else if text.hasPrefix("0x"), let number = UInt64(text.dropFirst(2), radix: 16) {
            self = .value(number)
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "expected \"0x<hex>\" or \"unavailable\", found \"\(text)\""))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
