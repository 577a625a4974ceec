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

    /// The real entry points, on the service's store and run options.
    public static func standard(store: ArtifactStore, options: RunOptions) -> InvestigationRunners {
        InvestigationRunners(
            bisect: { job, spent in
                try await withinHours(job.limits.maxHours, spent: spent) { try await bisect(job, store: store, options: options) }
            },
            triage: { _, _ in
                throw RunError(.setup, "-O triage is not part of this build yet (the service queues the job; `nestci triage` runs it by hand)")
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

    static func bisect(_ job: InvestigationJob, store: ArtifactStore, options: RunOptions) async throws -> String {
        throw RunError(.setup, "bisection is not part of this build yet")
    }
}
