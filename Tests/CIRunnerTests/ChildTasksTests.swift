import Foundation
import Testing

@testable import CIRunner

@Suite("Child work a stop waits for")
struct ChildTasksTests {
    @Test("a webhook delivery spawned as child work (retried once after a 500) has reached the server when wait() returns")
    func webhookBeforeStop() async throws {
        let server = try TinyHTTPServer(statuses: [500, 200])
        defer { server.close() }
        let children = ChildTasks()
        let notifier = WebhookNotifier(url: server.url, timeout: .seconds(5), retries: 3, backoff: .milliseconds(300))
        // What ServiceLoop.finished does for a run with findings, then what its stop does.
        children.spawn { _ = await notifier.send(WebhookTests.Payload(text: "last run", run: "r", failed: 1)) }
        #expect(server.requests.count < 2, "delivery still in flight (the retry waits 300 ms)")
        await children.wait()
        #expect(server.requests.count == 2, "the retried delivery went out before the stop returned")
        #expect(children.count == 0)
    }

    @Test("work spawned by running work (a cell's refresh during a run) is waited for too")
    func nested() async {
        let children = ChildTasks()
        let done = Counter()
        children.spawn {
            try? await Task.sleep(for: .milliseconds(50))
            children.spawn {
                try? await Task.sleep(for: .milliseconds(50))
                await done.add()
            }
            await done.add()
        }
        await children.wait()
        #expect(await done.value == 2)
    }

    actor Counter {
        var value = 0
        func add() { value += 1 }
    }
}
