/// A line of a serial log kept as evidence, with its 1-based line number.
public struct SourceLine: Sendable, Hashable, Codable {
    public var number: Int
    public var text: String

    public init(number: Int, text: String) {
        self.number = number
        self.text = text
    }
}
