import Foundation
import Testing

@testable import CIRunner

@Suite("Service logger")
struct ServiceLoggerTests {
    final class Records: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [Logger.Record] = []
        func append(_ record: Logger.Record) { lock.withLock { stored.append(record) } }
        var all: [Logger.Record] { lock.withLock { stored } }
        var lines: [String] { all.map(\.line) }
    }

    static func capturing(_ level: Logger.Level = .debug, clock: @escaping @Sendable () -> Date = { Date() }) -> (Records, Logger) {
        let records = Records()
        return (records, Logger(minimumLevel: level, clock: clock) { records.append($0) })
    }

    @Test("a line: UTC time, level, metadata as it was added (ids short), message")
    func line() {
        let (records, logger) = Self.capturing(clock: { Date(timeIntervalSince1970: 1_795_573_801) })
        let run = logger.with("run.id", "20261125-0230-ab12")
        let cell = run.with(["cell.id": "1a2b3c4d5e"])
        cell.info("build started")
        cell.warning("boot slow", ["seconds": "412", "reason": "no pass marker yet"])
        logger.info("unrelated")
        #expect(records.lines == [
            "2026-11-25T02:30:01Z info run=20261125-0230-ab12 cell=1a2b3c4d5e build started",
            #"2026-11-25T02:30:01Z warning run=20261125-0230-ab12 cell=1a2b3c4d5e reason="no pass marker yet" seconds=412 boot slow"#,
            "2026-11-25T02:30:01Z info unrelated",
        ])
        #expect(records.all[1]["cell.id"] == "1a2b3c4d5e")
    }

    @Test("levels below the minimum are dropped without building the message")
    func levels() {
        let (records, base) = Self.capturing(.warning)
        var built = false
        base.debug({ built = true; return "expensive" }())
        base.info("no")
        base.error("yes")
        #expect(!built)
        #expect(records.all.map(\.level) == [.error])
        #expect(Logger.Level.allCases.sorted() == [.debug, .info, .warning, .error])
    }
}
