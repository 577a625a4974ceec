import Foundation
import Matrix

/// How fast `nestci runs` lists a long history: 10,000 runs indexed in a temporary store,
/// then `runs(limit: 10000)` timed (target: under 100 ms).
public enum StoreBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var runCount: Int
        /// Seconds to insert the rows (one transaction).
        public var insertSeconds: Double
        /// Best of three `runs(limit:)` calls, in seconds.
        public var listSeconds: Double
        public var listedRuns: Int

        public var description: String {
            String(
                format: "store: listed %d runs in %.1f ms (target < 100 ms; best of 3), indexed them in %.0f ms",
                listedRuns, listSeconds * 1000, insertSeconds * 1000)
        }
    }

    /// Builds a temporary store with `runCount` finished runs and times listing them all.
    public static func measure(runCount: Int = 10_000) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-store-bench-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let store = try ArtifactStore(root: folder)
        let clock = ContinuousClock()
        let insert = try await clock.measure { try await store.insertSyntheticRuns(runCount) }
        var best = Duration.seconds(1000)
        var listed = 0
        for _ in 0..<3 {
            let elapsed = try await clock.measure { listed = try await store.runs(limit: runCount).count }
            best = min(best, elapsed)
        }
        return Result(runCount: runCount, insertSeconds: insert.seconds, listSeconds: best.seconds, listedRuns: listed)
    }
}

extension ArtifactStore {
    /// Finished runs with plausible counts, straight into the index (no files): for the benchmark.
    func insertSyntheticRuns(_ count: Int) throws {
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        try database.transaction {
            for index in 0..<count {
                let started = start.addingTimeInterval(Double(index) * 86_400 / 4)
                let id = Self.newRunID(now: started)
                try database.execute(
                    """
                    INSERT OR IGNORE INTO runs(id, matrix, matrix_path, trigger, started, finished, status, host_json,
                                               planned_cells, n_pass, n_fail, n_timeout, n_findings)
                    VALUES (?, ?, '/bench/matrix.json', 'nightly', ?, ?, 'finished', '{}', 12, 9, 2, 1, 1)
                    """,
                    [.text(id), .text(index % 2 == 0 ? "xmhf64-nightly" : "demo"), .real(started.timeIntervalSince1970),
                     .real(started.timeIntervalSince1970 + 3600)])
            }
        }
    }
}
