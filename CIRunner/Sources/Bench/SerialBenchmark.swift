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
        /// VmRSS sampled every 250 ms while the boots ran, for the growth figure.
        public var rssSamples: [Int]
        /// The kernel's high-water mark for the whole process (VmHWM), builds included.
        public var highWaterMark: Int

        /// The highest sample in each quarter of the run.
        public var quarters: [Int] {
            guard rssSamples.count >= 4 else { return rssSamples }
            let size = rssSamples.count / 4
            return (0..<4).map { rssSamples[($0 * size)..<($0 == 3 ? rssSamples.count : ($0 + 1) * size)].max() ?? 0 }
        }

        public var description: String {
            let mb = { (bytes: Int) in String(format: "%.1f MB", Double(bytes) / 1e6) }
            return [
                "serial: \(boots) boots on qemu-tcg flooding their consoles for \(Int(seconds)) s each, at once (fixture mode=flood)",
                "  serial output \(serialLines) lines (about \(mb(serialLines * 100))) in all; largest attempt serial.txt \(mb(largestCapture)) (limit \(mb(serialLimit)))",
                "  nestci RSS \(mb(rssBefore)) before, peak \(mb(rssPeak)) during the boots (VmHWM \(mb(highWaterMark))) (target <= 64 MB, flat)",
                "  RSS by quarter of the run: " + quarters.map(mb).joined(separator: ", ") + " (growth while flooding: flat means about 0)",
            ].joined(separator: "\n")
        }
    }

    /// Resident bytes of this process now (`VmRSS`) and at their peak (`VmHWM`).
    public static func memory() -> (rss: Int, peak: Int) {
        // Not String(contentsOfFile:), which leaks on /proc files (see ProcessRegistry).
        guard let data = FileManager.default.contents(atPath: "/proc/self/status") else { return (0, 0) }
        let status = String(decoding: data, as: UTF8.self)
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
            var samples: [Int] = []
            var largest = 0
            while !Task.isCancelled {
                samples.append(memory().rss)
                largest = max(largest, largestCapture(in: fixture.store))
                try? await Task.sleep(for: .milliseconds(250))
            }
            return (samples, largest)
        }
        let results = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix).results
        sampler.cancel()
        let (samples, largest) = await sampler.value
        return Figures(
            boots: results.cells.count, seconds: Double(seconds), serialLines: results.cells.reduce(0) { $0 + linesRead($1.reason) },
            serialLimit: serialLimit, largestCapture: max(largest, largestCapture(in: fixture.store)), rssBefore: before,
            rssPeak: max(samples.max() ?? 0, memory().rss), rssSamples: samples, highWaterMark: memory().peak)
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
