import Foundation
import Testing

@testable import CIRunner

@Suite("Evidence scanning throughput")
struct VMCSBenchmarkTests {
    @Test("a small synthetic log parses completely and consistently")
    func small() {
        let result = EvidenceBenchmark.measure(megabytes: 1)
        #expect(result.bytes >= 1_000_000)
        #expect(result.malformedLines == 0)
        #expect(result.dumps > 0)
        #expect(result.fields == result.dumps * 60)
        #expect(result.megabytesPerSecond > 0)
    }

    /// `NESTCI_BENCH=1 swift test -c release --scratch-path .build-evidence --filter VMCSBenchmarkTests`
    @Test("100 MB throughput (set NESTCI_BENCH to run)", .enabled(if: ProcessInfo.processInfo.environment["NESTCI_BENCH"] != nil))
    func throughput() {
        let result = EvidenceBenchmark.measure(megabytes: 100)
        print("evidence bench: \(result)")
        #expect(result.malformedLines == 0)
        #expect(result.megabytesPerSecond >= 200, "target is 200 MB/s in a release build: \(result)")
    }
}
