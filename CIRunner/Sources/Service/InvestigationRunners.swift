import Foundation
import Matrix

/// How the service carries out its investigation jobs: the bisect and triage entry points,
/// each under the job's limits. Tests pass their own.
public struct InvestigationRunners: Sendable {
    public var bisect: InvestigationService.Runner
    public var triage: InvestigationService.Runner

    public init(bisect: @escaping InvestigationService.Runner, triage: @escaping InvestigationService.Runner) {
        self.bisect = bisect
        self.triage = triage
    }

    /// The real entry points (``Bisector``, ``Triage``), on the service's store and run
    /// options, within the job's `maxSteps`/`maxHours`/`maxBuilds`. Progress goes to `logger`.
    public static func standard(store: ArtifactStore, options: RunOptions, logger: Logger = .discarding) -> InvestigationRunners {
        InvestigationRunners(
            bisect: { job, spent in
                try await withinHours(job.limits.maxHours, spent: spent) {
                    let request = BisectRequest(
                        runID: job.runID, cellID: job.cellID, maxSteps: job.limits.maxSteps ?? 12, matrixPath: job.matrixPath)
                    let record = try await Bisector.run(request, store: store, options: options) { logger.with("job.id", job.name).info($0) }
                    // A cancelled bisect returns its record: to the queue it is a stop, resumed later.
                    if record.status == .cancelled { throw CancellationError() }
                    return record.resultLine
                }
            },
            triage: { job, _ in
                let request = TriageRequest(runID: job.runID, cellID: job.cellID, matrixPath: job.matrixPath, maxBuilds: job.limits.maxBuilds ?? 40)
                let record = try await Triage.run(request, store: store, options: options) { logger.with("job.id", job.name).info($0) }
                // A triage stopped by its maxBuilds says so (its record is kept, status failed).
                let stopped = record.status == .failed ? "; stopped: " + (record.notes.last ?? "") : ""
                return "flags: \(record.flagsSentence); units: \(record.unitsSentence); \(record.costSentence)\(stopped)"
            })
    }

    /// Runs `body`, cancelling it when the job's `maxHours` (over all its parts) is used up:
    /// then it ends as finished with a message saying so (its recorded steps are kept).
    static func withinHours(_ hours: Double?, spent: Double, _ body: @escaping @Sendable () async throws -> String) async throws -> String {
        guard let hours else { return try await body() }
        let left = hours * 3600 - spent
        guard left > 0 else { return "stopped: its maxHours (\(hours) h) was used up; its recorded steps are kept" }
        return try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(left))
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            guard let message = first else {
                group.cancelAll()
                // Let the bisect save its record before saying it stopped.
                _ = try? await group.next()
                return "stopped: its maxHours (\(hours) h) was reached; its recorded steps are kept"
            }
            return message
        }
    }
}
