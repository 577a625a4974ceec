import Hypervisor

/// Work started from synchronous code (an event callback) or meant to outlive the step that
/// started it (a webhook delivery with its retries), that a stop must still wait for:
/// unstructured `Task`s kept in a set, each removed when it ends, all awaited by ``wait()``.
///
/// Without this, the service's last `Task.detached` webhook was lost when `nestci serve`
/// stopped right after a run, and a dashboard refresh could run after the run it showed.
public final class ChildTasks: Sendable {
    private struct State {
        var next = 0
        var running: [Int: Task<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Starts `work` now; ``wait()`` returns only once it has ended.
    public func spawn(_ work: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            let id = state.next
            state.next += 1
            // Registered under the lock before it can finish, so the removal below always
            // finds it (a task that ends at once removes itself after this insert).
            state.running[id] = Task { [self] in
                await work()
                self.state.withLock { _ = $0.running.removeValue(forKey: id) }
            }
        }
    }

    /// How many are still running.
    public var count: Int { state.withLock { $0.running.count } }

    /// Waits for every task started so far and for any they start meanwhile.
    public func wait() async {
        while let task = state.withLock({ $0.running.values.first }) {
            await task.value
        }
    }
}
