/// Why a queue's running item (a run, an investigation job) has its task cancelled.
public enum QueueStopReason: Sendable, Equatable {
    /// A run was queued or started: the investigation yields, resumes later.
    case yieldToRun
    /// `nestci cancel`.
    case cancel
    /// The service stops: resume on restart.
    case serviceStop
}

/// The lifecycle the service's two one-at-a-time queues share (``QueueStateMachine`` for
/// runs, ``InvestigationQueueStateMachine`` for investigations): one item runs; a cancel or
/// a service stop cancels its task once; when the task ends, the row it leaves is held
/// until the store has written it (nothing new starts before, so a row is never left
/// `running`); once the service stops, nothing starts again. Pure; the machines add what
/// differs (what a running item carries, what each ending records).
struct QueueLifecycle<Item: Sendable & Equatable, Record: Sendable & Equatable>: Sendable {
    enum Phase: Sendable, Equatable {
        case idle
        /// `stopping` says why the item's task was cancelled, if it was.
        case running(Item, stopping: QueueStopReason?)
        case recording(Record)
        case stopped
    }

    private(set) var phase: Phase = .idle
    private(set) var stopRequested = false
    /// Whether a cancel asked for before the service stopped stays a cancel (an
    /// investigation), or the stop overrides it and the item goes back to the queue (a run:
    /// the next service decides).
    let cancelSurvivesStop: Bool

    init(cancelSurvivesStop: Bool) {
        self.cancelSurvivesStop = cancelSurvivesStop
    }

    /// Starts `item` when nothing runs and the service is not stopping.
    mutating func start(_ item: Item) -> Bool {
        guard case .idle = phase, !stopRequested else { return false }
        phase = .running(item, stopping: nil)
        return true
    }

    /// The item could not be marked running: it did not start and stays queued.
    mutating func startFailed() {
        if case .running = phase { phase = stopRequested ? .stopped : .idle }
    }

    /// A running item not being stopped yet yields (its task is to be cancelled).
    mutating func yield() -> Item? {
        guard case .running(let item, nil) = phase else { return nil }
        phase = .running(item, stopping: .yieldToRun)
        return item
    }

    /// `nestci cancel` of the running item (when `matches` it): returns it when its task is
    /// to be cancelled now, once (a yielding item's stop becomes a cancel).
    mutating func cancel(where matches: (Item) -> Bool) -> Item? {
        guard case .running(let item, let stopping) = phase, matches(item), stopping == nil || stopping == .yieldToRun else { return nil }
        phase = .running(item, stopping: .cancel)
        return item
    }

    /// The service stops; returns the running item when its task is to be cancelled now
    /// (it was not being stopped already).
    mutating func stop() -> Item? {
        stopRequested = true
        switch phase {
        case .running(let item, let stopping):
            if stopping != .cancel || !cancelSurvivesStop { phase = .running(item, stopping: .serviceStop) }
            return stopping == nil ? item : nil
        case .idle:
            phase = .stopped
            return nil
        case .recording, .stopped:
            return nil
        }
    }

    /// The item's task ended: `record` makes its row from the item and why it was stopped.
    mutating func ended(_ record: (Item, QueueStopReason?) -> Record) -> Record? {
        guard case .running(let item, let stopping) = phase else { return nil }
        let row = record(item, stopping)
        phase = .recording(row)
        return row
    }

    /// The row was written (`written`), or the store still refuses (retried next tick).
    mutating func recorded(_ written: Bool) {
        guard case .recording = phase, written else { return }
        phase = stopRequested ? .stopped : .idle
    }

    /// The record still to be written, if any.
    var unrecorded: Record? {
        if case .recording(let record) = phase { return record }
        return nil
    }
}
