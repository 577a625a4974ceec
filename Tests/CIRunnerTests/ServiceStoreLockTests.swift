import Foundation
import Hypervisor
import Testing

@testable import CIRunner

/// A busy database is weather: the service waits and writes again rather than dropping the
/// write (which left a queue row `running` forever).
@Suite("Service with a locked store", .serialized)
struct ServiceStoreLockTests {
    /// A second connection holding the write lock, as another nestci would.
    final class Locker: @unchecked Sendable {
        // Only touched on `queue`, one thread at a time (a Database is not Sendable).
        private let database: Database
        private let queue = DispatchQueue(label: "locker")
        init(_ path: String) throws {
            database = try Database(path: path)
            try queue.sync { try database.execute("BEGIN IMMEDIATE") }
        }
        func release(after delay: Double) {
            queue.asyncAfter(deadline: .now() + delay) {
                // The test fails on its own if the lock stays; nothing to report here.
                try? self.database.execute("COMMIT")
            }
        }
    }

    static func store() throws -> (ArtifactStore, String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-lock-\(UUID().uuidString.prefix(8))").path
        return (try ArtifactStore(root: root), root)
    }

    @Test("a write that outlasts the busy timeout is retried with backoff and lands")
    func retryLands() async throws {
        let (store, root) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = try await store.enqueue(matrixPath: "/m.json", matrix: "m", reason: "test")
        let locker = try Locker(RunLayout(store: root).database)
        locker.release(after: 6)  // longer than the 5 s busy timeout: the first try fails
        let retry = StoreRetry(attempts: 4, backoff: .milliseconds(100), logger: .discarding)
        try await retry.run("mark done") { try await store.setQueueState(id, .done) }
        #expect(try await store.queueEntry(id)?.state == .done)
    }

    @Test("a run whose row cannot be written at first still ends failed, not running")
    func queueRowNeverLeftRunning() async throws {
        let (store, root) = try Self.store()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let id = try await store.enqueue(matrixPath: "\(root)/no-such-matrix.json", matrix: "m", reason: "test")
        let database = RunLayout(store: root).database
        let hooks = QueueService.Hooks(beforeRecording: { _ in
            // Locked from the moment the run ended until after the first write gave up.
            guard let locker = try? Locker(database) else { return }  // then the write simply lands
            locker.release(after: 7)
        })
        let queue = QueueService(
            store: store, options: RunOptions(store: root, slots: 1), logger: .discarding, tick: .milliseconds(100),
            retry: StoreRetry(attempts: 1, logger: .discarding), hooks: hooks)
        let running = Task { await queue.run() }
        defer { running.cancel() }
        let deadline = Date().addingTimeInterval(60)
        var entry = try await store.queueEntry(id)
        while entry?.state != .failed, Date() < deadline {
            try await Task.sleep(for: .milliseconds(200))
            entry = try await store.queueEntry(id)
        }
        #expect(entry?.state == .failed)
        #expect(entry?.message?.contains("no-such-matrix.json") == true, "\(entry?.message ?? "")")
        #expect(await queue.state == .idle)
        running.cancel()
        await running.value
    }
}
