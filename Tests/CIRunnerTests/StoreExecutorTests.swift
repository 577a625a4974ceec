import Foundation
import Hypervisor
import Testing

@testable import CIRunner

@Suite("The store's blocking work is off the cooperative pool")
struct StoreExecutorTests {
    @Test("more stores than cores waiting on another connection's SQLite lock leave other tasks running")
    func lockWaitsDoNotStallThePool() async throws {
        let fixture = try StoreFixture()
        let width = ProcessInfo.processInfo.activeProcessorCount + 1
        let stores = try (0..<width).map { _ in try ArtifactStore(root: fixture.root) }
        // Another process's writer, as `nestci run` beside `nestci serve`.
        let holder = try Database(path: "\(fixture.root)/nestci.db")
        try holder.execute("BEGIN EXCLUSIVE")
        let order = Mutex<[String]>([])
        let waiting = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, store) in stores.enumerated() {
                    group.addTask {
                        // Waits up to the 5 s busy timeout for the lock.
                        _ = try? await store.setServiceValue("probe.\(index)", "x")
                        order.withLock { $0.append("store") }
                    }
                }
            }
        }
        // Give every store time to reach its lock wait, then do pool work. On the default
        // executor each waiting store held a pool thread, so this ran only after they gave up.
        try await Task.sleep(for: .milliseconds(500))
        await withTaskGroup(of: Int.self) { group in
            for n in 0..<(2 * width) { group.addTask { (0...n).reduce(0, +) } }
            for await _ in group {}
        }
        order.withLock { $0.append("pool") }
        try holder.execute("ROLLBACK")
        await waiting.value
        #expect(order.withLock { $0 }.first == "pool", "\(order.withLock { $0 })")
        #expect(try await stores[0].serviceValue("probe.0") == "x", "the waiting write went through once the lock was free")
    }
}
