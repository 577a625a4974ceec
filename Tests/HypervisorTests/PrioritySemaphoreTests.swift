import Foundation
import Testing

@testable import Hypervisor

@Suite("Priority semaphore: slots for boots and builds")
struct PrioritySemaphoreTests {
    @Test("a free slot goes to the highest priority, ties first come first served")
    func order() async throws {
        let semaphore = PrioritySemaphore(1)
        try await semaphore.acquire()
        let served = Mutex<[String]>([])
        var tasks: [Task<Void, any Error>] = []
        for (name, priority) in [("low", 1.0), ("high-first", 5.0), ("high-second", 5.0)] {
            tasks.append(
                Task {
                    try await semaphore.acquire(priority: priority)
                    served.withLock { $0.append(name) }
                    await semaphore.release()
                })
            // Each waiter is in line before the next arrives, so arrival order is known.
            while await semaphore.waiting < tasks.count { await Task.yield() }
        }
        await semaphore.release()
        for task in tasks { try await task.value }
        #expect(served.withLock { $0 } == ["high-first", "high-second", "low"])
        #expect(await semaphore.free == 1)
    }

    @Test("a waiter whose task is cancelled leaves at once, throwing, and takes no slot")
    func cancelledWaiterLeaves() async throws {
        let semaphore = PrioritySemaphore(1)
        try await semaphore.acquire()
        let waiter = Task { try await semaphore.acquire() }
        while await semaphore.waiting < 1 { await Task.yield() }
        waiter.cancel()
        // Before the fix, this waited until the slot was released (here: never).
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(await semaphore.waiting == 0)
        // The slot held all along is still one slot: released, it is free, not lost or doubled.
        await semaphore.release()
        #expect(await semaphore.free == 1)
        try await semaphore.acquire()
        #expect(await semaphore.free == 0)
    }

    @Test("an already cancelled task gets no slot even when one is free")
    func cancelledBeforeAsking() async throws {
        let semaphore = PrioritySemaphore(2)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await semaphore.acquire()
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await semaphore.free == 2)
    }

    @Test("many cancelled waiters behind one held slot all leave; the next real waiter still gets it")
    func manyCancelled() async throws {
        let semaphore = PrioritySemaphore(1)
        try await semaphore.acquire()
        let doomed = (0..<14).map { index in Task { try await semaphore.acquire(priority: Double(index)) } }
        while await semaphore.waiting < doomed.count { await Task.yield() }
        let survivor = Task { try await semaphore.acquire(priority: -1) }
        while await semaphore.waiting < doomed.count + 1 { await Task.yield() }
        for task in doomed { task.cancel() }
        for task in doomed { await #expect(throws: CancellationError.self) { try await task.value } }
        #expect(await semaphore.waiting == 1)
        await semaphore.release()
        try await survivor.value
        #expect(await semaphore.free == 0, "the survivor holds the one slot")
    }
}
