/// The investigation queue's decisions, one job at a time. Pure: ``InvestigationService``
/// feeds it what the store says (the next queued job, whether a run is waiting or going,
/// cancel requests) and carries out what it returns.
///
/// Jobs yield to the night's runs: none starts while a run is queued or running, and a run
/// arriving stops the running job at its next step boundary (its task is cancelled; the
/// seam keeps the recorded steps), after which the job goes back to the queue and resumes
/// when the runs are done. A row is never left `running` once its task ended.
public struct InvestigationQueueStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        /// A job is going; `stopping` says why its task was cancelled, if it was.
        case running(jobID: Int64, stopping: StopReason?)
        /// The job's task ended and its row is not written yet (the store refused).
        case recording(Record)
        case stopped
    }

    /// Why a running job's task is cancelled.
    public typealias StopReason = QueueStopReason

    /// How a job's task ended.
    public enum Ending: Sendable, Equatable {
        /// Finished (found a culprit, or gave up within its limits): `message` says what.
        case finished(String)
        /// Its task was cancelled.
        case cancelled
        case failed(String)
    }

    /// The row to write when a job ended.
    public struct Record: Sendable, Equatable {
        public var jobID: Int64
        public var state: InvestigationJob.State
        public var message: String?
    }

    public enum Action: Sendable, Equatable {
        case none
        /// Mark the job running and start it.
        case start(jobID: Int64)
        /// Cancel the running job's task.
        case stopJob(jobID: Int64)
    }

    // A cancel asked for before a service stop stays a cancel.
    private var lifecycle = QueueLifecycle<Int64, Record>(cancelSurvivesStop: true)

    public var state: State {
        switch lifecycle.phase {
        case .idle: .idle
        case .running(let jobID, let stopping): .running(jobID: jobID, stopping: stopping)
        case .recording(let record): .recording(record)
        case .stopped: .stopped
        }
    }

    public init() {}

    /// One look at the store: `next` is the oldest queued job (bisections first), `runsPending`
    /// whether any run is queued or running.
    public mutating func tick(next: InvestigationJob?, runsPending: Bool) -> Action {
        if runsPending { return lifecycle.yield().map { .stopJob(jobID: $0) } ?? .none }
        guard let next, lifecycle.start(next.id) else { return .none }
        return .start(jobID: next.id)
    }

    /// The row could not be marked running: the job did not start and stays queued.
    public mutating func startFailed() { lifecycle.startFailed() }

    /// `nestci cancel` flagged the running job; returns whether to cancel its task now.
    public mutating func cancelRequested(jobID: Int64) -> Action {
        lifecycle.cancel { $0 == jobID }.map { .stopJob(jobID: $0) } ?? .none
    }

    /// The service stops; returns the job to stop, if one runs.
    public mutating func stop() -> Action {
        lifecycle.stop().map { .stopJob(jobID: $0) } ?? .none
    }

    /// The job's task ended: the row to write.
    public mutating func jobEnded(_ ending: Ending) -> Record? {
        lifecycle.ended { jobID, stopping in
            switch (ending, stopping) {
            case (.finished(let message), _):
                Record(jobID: jobID, state: .done, message: message)
            case (.failed(let message), _):
                Record(jobID: jobID, state: .failed, message: message)
            case (.cancelled, .cancel):
                Record(jobID: jobID, state: .cancelled, message: "cancelled by nestci cancel")
            case (.cancelled, .yieldToRun):
                Record(jobID: jobID, state: .queued, message: "paused for a run; resumes after it")
            case (.cancelled, .serviceStop), (.cancelled, nil):
                // Back to the queue: the next service resumes it with its recorded steps.
                Record(jobID: jobID, state: .queued, message: "interrupted by a service stop; resumes on restart")
            }
        }
    }

    /// The row was written (`written`), or the store still refuses (retried next tick).
    public mutating func recorded(_ written: Bool) { lifecycle.recorded(written) }

    /// The record still to be written, if any.
    public var unrecorded: Record? { lifecycle.unrecorded }
}
