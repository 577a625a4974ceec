import Foundation
import Hypervisor
import Matrix

/// `nestci bench serial`: nestci's memory and disk while 8 guests flood their serial
/// consoles at once (the fixture kernel's `flood` mode under qemu-tcg, through
/// `nestci run`'s whole path: scheduler, capture, verdict, evidence, store). Memory must
/// stay flat whatever the guests print: the target is a peak RSS ≤ 64 MB.
public enum SerialBenchmark {
    public struct Figures: Sendable, CustomStringConvertible {
        public var boots: Int
        public var seconds: Double
        /// Serial lines the verdicts read, in all (each flood line is about 100 bytes).
        public var serialLines: Int
        public var serialLimit: Int
        /// Largest `attempt-N/serial.txt` (the emulator-side capture) seen during or after the boots.
        public var largestCapture: Int
        /// Resident set size before the boots, and its peak sampled during them (VmRSS).
        public var rssBefore: Int
        public var rssPeak: Int
        /// The kernel's high-water mark for the whole process (VmHWM), builds included.
        public var highWaterMark: Int

        public var description: String {
            let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
            return [
                "serial: \(boots) boots on qemu-tcg flooding their consoles for \(Int(seconds)) s each, at once (fixture mode=flood)",
                "  serial output \(serialLines) lines (about \(mb(serialLines * 100))) in all; largest attempt serial.txt \(mb(largestCapture)) (limit \(mb(serialLimit)))",
                "  nestci RSS \(mb(rssBefore)) before, peak \(mb(rssPeak)) during the boots (VmHWM \(mb(highWaterMark))) (target <= 64 MB, flat)",
            ].joined(separator: "\n")
        }
    }

    /// Resident bytes of this process now (`VmRSS`) and at their peak (`VmHWM`).
    public static func memory() -> (rss: Int, peak: Int) {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }) else { return 0 }
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    static func matrix(seconds: Int) -> String {
        """
        {
          "name": "serial-flood",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "flood": {"levels": [{"component": "fixture", "cmdline": "mode=flood"}], "verdict": {"pass": ["^NEVER PRINTED$"]}, "timeouts": {"boot": \(seconds)}}
          },
          "axes": {"chain": ["flood"], "opt": ["O0", "O2"], "bits": ["i386", "amd64"], "smp": [1, 2], "backend": ["qemu-tcg"]}
        }
        """
    }

    /// Runs the 8 flooding cells with `serialLimit` per boot, sampling RSS and the captures.
    public static func run(seconds: Int = 30, serialLimit: Int = 8 << 20) async throws -> Figures {
        let fixture = try await FixtureMatrix.make(matrix: matrix(seconds: seconds))
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let options = RunOptions(store: fixture.store, slots: plan.cells.count, infraRetries: 0, serialLogLimit: serialLimit)
        let before = memory().rss
        let sampler = Task {
            var peak = 0
            var largest = 0
            while !Task.isCancelled {
                peak = max(peak, memory().rss)
                largest = max(largest, largestCapture(in: fixture.store))
                try? await Task.sleep(for: .milliseconds(250))
            }
            return (peak, largest)
        }
        let results = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix).results
        sampler.cancel()
        let (peak, largest) = await sampler.value
        return Figures(
            boots: results.cells.count, seconds: Double(seconds), serialLines: results.cells.reduce(0) { $0 + linesRead($1.reason) },
            serialLimit: serialLimit, largestCapture: max(largest, largestCapture(in: fixture.store)), rssBefore: before,
            rssPeak: max(peak, memory().rss), highWaterMark: memory().peak)
    }

    /// N of a TIMEOUT's "deadline passed after N lines".
    static func linesRead(_ reason: String) -> Int {
        guard let range = reason.range(of: "after ") else { return 0 }
        return Int(reason[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// The largest `serial.txt` (or its `.part` while the boot runs) under `store`.
    static func largestCapture(in store: String) -> Int {
        var largest = 0
        guard let walker = FileManager.default.enumerator(atPath: store) else { return 0 }
        for case let path as String in walker where path.hasSuffix("/serial.txt") || path.hasSuffix("/serial.txt.part") {
            var info = stat()
            if stat("\(store)/\(path)", &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { largest = max(largest, Int(info.st_size)) }
        }
        return largest
    }
}
