import Foundation
import Testing

@testable import CIRunner

#if canImport(Glibc)
    import Glibc
#endif

/// A tiny HTTP server of the test's own on 127.0.0.1: answers each request with the next
/// status from `statuses` (the last one repeats), or, with `silent`, reads and never answers.
final class TinyHTTPServer: @unchecked Sendable {
    let port: UInt16
    private let socketFD: Int32
    private let lock = NSLock()
    private var received: [(head: String, body: Data)] = []
    private let statuses: [Int]
    private let silent: Bool

    init(statuses: [Int], silent: Bool = false) throws {
        self.statuses = statuses
        self.silent = silent
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 8) == 0 else {
            Glibc.close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = UInt16(bigEndian: address.sin_port)
        socketFD = fd
        let thread = Thread { [self] in self.serve() }
        thread.start()
    }

    var requests: [(head: String, body: Data)] { lock.withLock { received } }
    var url: URL { URL(string: "http://127.0.0.1:\(port)/hooks/nestci")! }

    func close() { shutdown(socketFD, Int32(SHUT_RDWR)); Glibc.close(socketFD) }

    private func serve() {
        while true {
            let client = accept(socketFD, nil, nil)
            guard client >= 0 else { return }
            let (head, body) = readRequest(client)
            let status = lock.withLock { () -> Int in
                received.append((head, body))
                return statuses[min(received.count, statuses.count) - 1]
            }
            if silent {
                // Hold the connection open without answering, until the client gives up.
                var byte: UInt8 = 0
                _ = recv(client, &byte, 1, 0)
            } else {
                let text = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Internal Server Error")\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                _ = text.withCString { send(client, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            }
            Glibc.close(client)
        }
    }

    private func readRequest(_ client: Int32) -> (String, Data) {
        var data = Data(), buffer = [UInt8](repeating: 0, count: 4096)
        var expected: Int?
        while true {
            if let split = data.range(of: Data("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<split.lowerBound], as: UTF8.self)
                if expected == nil {
                    let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                        .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                    expected = split.upperBound + length
                }
                if data.count >= expected! { return (head, Data(data[split.upperBound..<expected!])) }
            }
            let count = recv(client, &buffer, buffer.count, 0)
            guard count > 0 else { return (String(decoding: data, as: UTF8.self), Data()) }
            data.append(contentsOf: buffer[0..<count])
        }
    }
}

@Suite("Webhook")
struct WebhookTests {
    struct Payload: Codable, Equatable {
        var text: String
        var run: String
        var failed: Int
    }

    @Test("the payload arrives as JSON; a 500 is retried after a backoff and the retry succeeds")
    func retry() async throws {
        let server = try TinyHTTPServer(statuses: [500, 200])
        defer { server.close() }
        let (records, logger) = ServiceLoggerTests.capturing()
        let notifier = WebhookNotifier(url: server.url, timeout: .seconds(5), retries: 3, backoff: .milliseconds(200), logger: logger)
        let payload = Payload(text: "xmhf64-nightly: 1 FAIL (-O3 only)", run: "20261125-0230-ab12", failed: 1)
        let started = ContinuousClock.now
        let delivery = await notifier.send(payload)
        #expect(delivery.delivered)
        #expect(delivery.attempts.map(\.status) == [500, 200])
        #expect(delivery.summary == "delivered after 2 attempts")
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        let requests = server.requests
        try #require(requests.count == 2, "both attempts reached the server")  // requests[1] below
        #expect(requests[0].head.hasPrefix("POST /hooks/nestci HTTP/1.1"))
        #expect(requests[0].head.lowercased().contains("content-type: application/json"))
        #expect(try JSONDecoder().decode(Payload.self, from: requests[1].body) == payload)
        #expect(records.lines.contains { $0.contains("warning") && $0.contains("webhook failed, retrying") && $0.contains("error=\"HTTP 500\"") })
    }

    @Test("a dead URL (closed port) fails quickly and reports, never throws")
    func deadURL() async throws {
        let server = try TinyHTTPServer(statuses: [200])
        let url = server.url
        server.close()  // nothing listens there now
        let notifier = WebhookNotifier(url: url, timeout: .seconds(2), retries: 1, backoff: .milliseconds(50))
        let started = ContinuousClock.now
        let delivery = await notifier.send(Payload(text: "x", run: "r", failed: 0))
        #expect(!delivery.delivered)
        #expect(delivery.attempts.count == 2)
        #expect(delivery.attempts.allSatisfy { $0.status == nil && $0.error != nil })
        // The bound only proves it gives up: at the start of the full suite hundreds of tests
        // start children at once and the two-thread pool that resumes this task can lag by
        // tens of seconds (30-40 s seen), which says nothing about the notifier.
        #expect(ContinuousClock.now - started < .seconds(120), "gives up, does not hang")
    }

    @Test("a server that never answers is given up on at the deadline of each attempt")
    func silentServer() async throws {
        let server = try TinyHTTPServer(statuses: [200], silent: true)
        defer { server.close() }
        let notifier = WebhookNotifier(url: server.url, timeout: .seconds(1), retries: 1, backoff: .milliseconds(50))
        let started = ContinuousClock.now
        let delivery = await notifier.send(Payload(text: "x", run: "r", failed: 0))
        let elapsed = ContinuousClock.now - started
        #expect(!delivery.delivered)
        #expect(delivery.summary.contains("timed out after 1 s"))
        // Two 1 s attempts; the upper bound only proves it gives up (the full suite shares
        // two cores with emulators and starts hundreds of children at once, so wall time
        // stretches: 30-40 s seen). Each attempt's own deadline is the "timed out" above.
        #expect(elapsed >= .seconds(2) && elapsed < .seconds(120))
    }

    @Test("the run notification: one line for chat, the details for programs")
    func runNotification() throws {
        let runs = try DashboardFixture.runs(store: FileManager.default.temporaryDirectory.appendingPathComponent("unused-\(UUID())"))
        let note = RunNotification(run: runs[0], dashboardURL: URL(string: "https://ci.example.org/nestci/"))
        #expect(note.text.hasPrefix("xmhf64-nightly 20261125-0230-ab12: 20 PASS, 1 FAIL, 1 TIMEOUT, 1 BUILD-FAIL, 1 INFRA, 20 SKIP, 1 FLAKY · 2 findings: xmhf-lhv fails at -O3 only"))
        #expect(note.url == "https://ci.example.org/nestci/runs/20261125-0230-ab12/index.html")
        #expect(note.counts["FAIL"] == 1)
    }
}
