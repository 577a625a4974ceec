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

    public private(set) var state: State = .idle
    private var stopRequested = false

    public init() {}

    /// The store's oldest queued request (nil: none); `newRunID` names a run that starts anew.
    public mutating func next(_ entry: QueueEntry?, newRunID: String) -> StartAction {
        guard case .idle = state, let entry else { return .none }
        let runID = entry.runID ?? newRunID
        state = .running(entryID: entry.id, runID: runID, cancelling: false)
        return .start(entryID: entry.id, runID: runID, resume: entry.runID != nil)
    }

    /// The row could not be marked running: the run did not start, the request stays queued.
    public mutating func startFailed() {
        if case .running = state { state = stopRequested ? .stopped : .idle }
    }

    /// `nestci cancel` asked; returns whether to cancel the run's task now.
    public mutating func cancelRequested() -> Bool {
        guard case .running(let entryID, let runID, false) = state else { return false }
        state = .running(entryID: entryID, runID: runID, cancelling: true)
        return true
    }

    /// The service stops; returns whether a running run's task must be cancelled.
    public mutating func stop() -> Bool {
        stopRequested = true
        switch state {
        case .running(let entryID, let runID, let cancelling):
            state = .running(entryID: entryID, runID: runID, cancelling: true)
            return !cancelling
        case .idle:
            state = .stopped
            return false
        case .recording, .stopped:
            return false
        }
    }

    /// The run's task ended: the row to write.
    public mutating func runEnded(_ ending: Ending) -> Record? {
        guard case .running(let entryID, _, _) = state else { return nil }
        let record: Record
        switch ending {
        case .finished:
            record = Record(entryID: entryID, state: .done, message: nil)
        case .cancelled where stopRequested:
            // Back to the queue with its run id: the next service resumes it.
            record = Record(entryID: entryID, state: .queued, message: "interrupted by a service stop")
        case .cancelled:
            record = Record(entryID: entryID, state: .cancelled, message: "cancelled by nestci cancel")
        case .failed(let message):
            record = Record(entryID: entryID, state: .failed, message: message)
        }
        state = .recording(record)
        return record
    }

    /// The row was written (`written`) or the store still refuses (retry at the next tick).
    public mutating func recorded(_ written: Bool) {
        guard case .recording = state, written else { return }
        state = stopRequested ? .stopped : .idle
    }

    /// The record still to be written, if any (retried each tick).
    public var unrecorded: Record? {
        if case .recording(let record) = state { return record }
        return nil
    }
}
