import Foundation
import Matrix

/// One cell's outcomes across runs, newest first (the cell page's history table).
public struct DashboardCellHistory: Sendable, Codable, Equatable {
    public struct Entry: Sendable, Codable, Equatable {
        public var runID: String
        public var started: Date
        public var outcome: Outcome
        /// The run's artifacts were pruned (its page still exists, without logs).
        public var pruned: Bool
        /// Seconds to the verdict (the history chart), nil when none was recorded.
        public var seconds: Double?

        public init(runID: String, started: Date, outcome: Outcome, pruned: Bool = false, seconds: Double? = nil) {
            self.runID = runID
            self.started = started
            self.outcome = outcome
            self.pruned = pruned
            self.seconds = seconds
        }
    }

    public var cellID: String
    public var entries: [Entry]

    public init(cellID: String, entries: [Entry]) {
        self.cellID = cellID
        self.entries = entries.sorted { $0.started > $1.started }
    }

    /// The key of a cell's history in ``Dashboard/write(runs:history:)``: a cell's history is
    /// per matrix, because two matrices with the same axis values have cells of the same id.
    public static func key(matrix: String, cellID: String) -> String { "\(matrix)\u{1F}\(cellID)" }

    /// Histories of every cell in `runs` (for when the store gives no longer history), keyed
    /// by ``key(matrix:cellID:)``.
    public static func derived(from runs: [DashboardRun]) -> [String: DashboardCellHistory] {
        var entries: [String: (cellID: String, entries: [Entry])] = [:]
        for run in runs {
            for cell in run.cells {
                let entry = Entry(runID: run.id, started: run.started, outcome: cell.outcome, pruned: run.artifactsPruned, seconds: cell.secondsToVerdict)
                entries[key(matrix: run.matrix, cellID: cell.cellID), default: (cell.cellID, [])].entries.append(entry)
            }
        }
        return entries.mapValues { DashboardCellHistory(cellID: $0.cellID, entries: $0.entries) }
    }
}
