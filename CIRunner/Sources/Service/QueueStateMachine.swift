/// The queue's decisions, one run at a time: which request starts, when the running one is
/// stopped, and what its row becomes — never `running` once its run has ended. Pure: the
/// ``QueueService`` feeds it what the store says and carries out what it returns.
public struct QueueStateMachine: Sendable {
    public enum State: Sendable, Equatable {
        case idle
        /// A run is going; `cancelling` once its task was cancelled.
        case running(entryID: Int64, runID: String, cancelling: Bool)
        /// The run ended but its row is not written yet (the store refused): nothing new
        /// starts until it is.
        case recording(Record)
        case stopped
    }

    /// How a run ended.
    public enum Ending: Sendable, Equatable {
        case finished
        /// Its task was cancelled (by `nestci cancel` or a service stop).
        case cancelled
        case failed(String)
    }

    /// The row to write when a run ended.
    public struct Record: Sendable, Equatable {
        public var entryID: Int64
        public var state: QueueEntry.State
        public var message: String?
    }

    public enum StartAction: Sendable, Equatable {
        /// Mark the row running with `runID`, then run it (`resume`: take over that run).
        case start(entryID: Int64, runID: String, resume: Bool)
        case none
    }

    struct Running: Sendable, Equatable {
        var entryID: Int64
        var runID: String
    }

    // A stop during a cancel re-queues the run: the next service decides.
    private var lifecycle = QueueLifecycle<Running, Record>(cancelSurvivesStop: false)

    public var state: State {
        switch lifecycle.phase {
        case .idle: .idle
        case .running(let run, let stopping): .running(entryID: run.entryID, runID: run.runID, cancelling: stopping != nil)
        case .recording(let record): .recording(record)
        case .stopped: .stopped
        }
    }

    public init() {}

    /// The store's oldest queued request (nil: none); `newRunID` names a run that starts anew.
    public mutating func next(_ entry: QueueEntry?, newRunID: String) -> StartAction {
        guard let entry else { return .none }
        let runID = entry.runID ?? newRunID
        guard lifecycle.start(Running(entryID: entry.id, runID: runID)) else { return .none }
        return .start(entryID: entry.id, runID: runID, resume: entry.runID != nil)
    }

    /// The row could not be marked running: the run did not start, the request stays queued.
    public mutating func startFailed() { lifecycle.startFailed() }

    /// `nestci cancel` asked; returns whether to cancel the run's task now.
    public mutating func cancelRequested() -> Bool { lifecycle.cancel { _ in true } != nil }

    /// The service stops; returns whether a running run's task must be cancelled.
    public mutating func stop() -> Bool { lifecycle.stop() != nil }

    /// The run's task ended: the row to write.
    public mutating func runEnded(_ ending: Ending) -> Record? {
        let stopRequested = lifecycle.stopRequested
        return lifecycle.ended { run, _ in
            switch ending {
            case .finished:
                Record(entryID: run.entryID, state: .done, message: nil)
            case .cancelled where stopRequested:
                // Back to the queue with its run id: the next service resumes it.
                Record(entryID: run.entryID, state: .queued, message: "interrupted by a service stop")
            case .cancelled:
                Record(entryID: run.entryID, state: .cancelled, message: "cancelled by nestci cancel")
            case .failed(let message):
                Record(entryID: run.entryID, state: .failed, message: message)
            }
        }
    }

    /// The row was written (`written`) or the store still refuses (retry at the next tick).
    public mutating func recorded(_ written: Bool) { lifecycle.recorded(written) }

    /// The record still to be written, if any (retried each tick).
    public var unrecorded: Record? { lifecycle.unrecorded }
}
