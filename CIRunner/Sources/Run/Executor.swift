import Foundation
import Matrix

/// What runs a plan's cells: on this host (``RunScheduler``: builds, disks and boots in
/// slots) or on a cluster (``SlurmExecutor``: job arrays of `nestci build` and
/// `nestci cell run`, their bundles ingested). Callers (`nestci run`, the service's queue)
/// hold an `any Executor` and do not know which one runs the cells; either records every
/// cell into the store and finishes the run with its findings.
public protocol Executor: Sendable {
    /// Runs every cell of `plan` as run `runID` (a new id when nil). With `resume`, an
    /// interrupted run with that id is taken over: its recorded cells are not run again.
    func run(_ plan: Plan, matrixPath: String, runID: String?, resume: Bool) async throws -> RunOutcome
}

extension RunScheduler: Executor {}

/// Which executor a run uses (`nestci run --executor`, the service's `"executor"`).
public enum ExecutorChoice: Sendable, Equatable {
    case local
    case slurm(SlurmOptions)

    /// The executor for `options`, reporting progress to `onEvent`.
    public func executor(_ options: RunOptions, onEvent: @escaping @Sendable (RunEvent) -> Void) -> any Executor {
        switch self {
        case .local: RunScheduler(options: options, onEvent: onEvent)
        case .slurm(let slurm): SlurmExecutor(options: options, slurm: slurm, onEvent: onEvent)
        }
    }
}
