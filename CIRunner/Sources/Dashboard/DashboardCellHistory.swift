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

        public init(runID: String, started: Date, outcome: Outcome, pruned: Bool = false) {
            self.runID = runID
            self.started = started
            self.outcome = outcome
            self.pruned = pruned
        }
    }

    public var cellID: String
    public var entries: [Entry]

    public init(cellID: String, entries: [Entry]) {
        self.cellID = cellID
        self.entries = entries.sorted { $0.started > $1.started }
    }

    /// Histories of every cell in `runs` (for when the store gives no longer history).
    public static func derived(from runs: [DashboardRun]) -> [String: DashboardCellHistory] {
        var entries: [String: [Entry]] = [:]
        for run in runs {
            for cell in run.cells {
                entries[cell.cellID, default: []].append(Entry(runID: run.id, started: run.started, outcome: cell.outcome, pruned: run.artifactsPruned))
            }
        }
        return entries.mapValues { DashboardCellHistory(cellID: "", entries: $0) }
            .reduce(into: [:]) { result, pair in result[pair.key] = DashboardCellHistory(cellID: pair.key, entries: pair.value.entries) }
    }
}
