/// An expanded matrix: its cells and the builds they need.
public struct Plan: Sendable, Codable {
    public var matrix: String
    public var cells: [Cell]
    /// Unique builds, in first-use order, each with the cells that need it.
    public var builds: [PlannedBuild]
    /// Cells of the cartesian product dropped because they cannot exist, with why.
    public var dropped: [DroppedCell]
    /// The matrix's `knownIssues` (expired ones too; see ``KnownIssue/active(_:on:)``).
    public var knownIssues: [KnownIssue] = []
    /// Component → `commitURL` template.
    public var commitURLs: [String: String] = [:]

    public struct PlannedBuild: Sendable, Codable {
        public var key: String
        public var spec: BuildSpec
        public var cellIDs: [String]
    }

    public struct DroppedCell: Sendable, Codable {
        public var values: [String: String]
        public var reason: String
    }

    /// The cell with `id`, if any.
    public func cell(_ id: String) -> Cell? { cells.first { $0.id == id } }
}
