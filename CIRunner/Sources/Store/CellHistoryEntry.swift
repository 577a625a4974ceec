import Foundation

/// One cell's result in one run: a line of `history(matrix:cellID:limit:)`.
public struct CellHistoryEntry: Sendable, Codable, Equatable {
    public var runID: String
    public var started: Date
    public var result: CellResult
}
