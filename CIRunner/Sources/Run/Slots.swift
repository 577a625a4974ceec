/// A counting semaphore for async tasks: at most `count` boots run at once (Bochs and TCG
/// each keep one host core busy). Waiters are served in arrival order.
public actor Slots {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init(_ count: Int) { free = max(1, count) }

    public func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    public func release() {
        if waiters.isEmpty {
            free += 1
        } else {
            waiters.removeFirst().resume()
        }
    }

    /// Runs `body` holding one slot.
    public func withSlot<T: Sendable>(_ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }
}
