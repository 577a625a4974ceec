/// A counting semaphore for async tasks whose waiters leave when their task is cancelled.
///
/// A free slot goes to the waiter with the highest priority, ties in arrival order (so
/// equal priorities are first come, first served). A waiter whose task is cancelled is
/// removed and throws `CancellationError` at once: a torn-down run must not queue its
/// remaining cells (or builds) one after another through the slots, each starting a
/// process only to have it killed, which is what kept a stopping service past its deadline.
public actor PrioritySemaphore {
    private struct Waiter {
        let id: Int
        let priority: Double
        let continuation: CheckedContinuation<Void, any Error>
    }

    /// Slots not held by anyone.
    public private(set) var free: Int
    /// Total slots.
    public nonisolated let limit: Int
    private var waiters: [Waiter] = []
    private var arrivals = 0

    /// - Parameter limit: how many holders at once (at least 1).
    public init(_ limit: Int) {
        self.limit = max(1, limit)
        free = self.limit
    }

    /// Slots held, by those that acquired and have not released yet.
    public var held: Int { limit - free }
    /// Tasks waiting for a slot.
    public var waiting: Int { waiters.count }

    /// Waits for a slot. Throws `CancellationError`, holding nothing, when the task is or
    /// becomes cancelled before it gets one; once it has one, it must call ``release()``.
    public func acquire(priority: Double = 0) async throws {
        try Task.checkCancellation()
        if free > 0 {
            free -= 1
            return
        }
        arrivals += 1
        let id = arrivals
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Runs on this actor before any other job of it, so a cancellation that
                // came first is seen here, and one that comes later finds the waiter.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append(Waiter(id: id, priority: priority, continuation: continuation))
                }
            }
        } onCancel: {
            Task { await self.leave(id) }
        }
    }

    /// Gives a slot back: to the best waiter if there is one, else to the free pool.
    public func release() {
        guard let next = waiters.indices.max(by: { (waiters[$0].priority, -waiters[$0].id) < (waiters[$1].priority, -waiters[$1].id) }) else {
            free = min(limit, free + 1)
            return
        }
        // The slot passes straight to the waiter: `free` stays as it is.
        waiters.remove(at: next).continuation.resume()
    }

    /// A cancelled waiter leaves. One already given a slot is not here any more: it holds
    /// the slot and releases it itself.
    private func leave(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
