/// A counting semaphore for async tasks: at most `count` boots run at once (Bochs and TCG
/// each keep one host core busy). A free slot goes to the waiter with the highest
/// priority (the longest expected boot: starting long cells first keeps the tail of a
/// matrix short), ties in arrival order.
public actor Slots {
    private var free: Int
    private var waiters: [(priority: Double, order: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var arrivals = 0

    public init(_ count: Int) { free = max(1, count) }

    public func acquire(priority: Double = 0) async {
        if free > 0 {
            free -= 1
            return
        }
        arrivals += 1
        let order = arrivals
        await withCheckedContinuation { waiters.append((priority, order, $0)) }
    }

    public func release() {
        guard let next = waiters.indices.max(by: { (waiters[$0].priority, -waiters[$0].order) < (waiters[$1].priority, -waiters[$1].order) }) else {
            free += 1
            return
        }
        waiters.remove(at: next).continuation.resume()
    }

    /// Runs `body` holding one slot.
    public func withSlot<T: Sendable>(priority: Double = 0, _ body: @Sendable () async throws -> T) async rethrows -> T {
        await acquire(priority: priority)
        defer { release() }
        return try await body()
    }
}
