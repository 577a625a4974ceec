import Hypervisor

/// At most `count` boots at once (Bochs and TCG each keep one host core busy). A free slot
/// goes to the waiter with the highest priority (the longest expected boot: starting long
/// cells first keeps the tail of a matrix short), ties in arrival order. A cancelled cell
/// leaves the line at once and starts no boot.
public struct Slots: Sendable {
    private let semaphore: PrioritySemaphore

    public init(_ count: Int) { semaphore = PrioritySemaphore(count) }

    /// Runs `body` holding one slot. Throws `CancellationError` without running it when the
    /// task is cancelled while it waits, or by the time it has the slot: a torn-down run
    /// starts no emulator only to kill it.
    public func withSlot<T: Sendable>(priority: Double = 0, _ body: @Sendable () async throws -> T) async throws -> T {
        try await semaphore.acquire(priority: priority)
        do {
            try Task.checkCancellation()
            let value = try await body()
            await semaphore.release()
            return value
        } catch {
            await semaphore.release()
            throw error
        }
    }
}
