import Foundation
import Matrix

/// `nestci bench input`: the matrix and service-config reader on hostile 10 MB files
/// (issue 10 §6). Target: each under 1 s and 100 MB above the process's baseline, from a
/// release build; each file is written to disk and read as `nestci plan` reads it.
public enum InputBenchmark {
    public struct Case: Sendable {
        public var name: String
        public var bytes: Int
        public var seconds: Double
        /// CPU time (user + system): the figure that a loaded machine does not inflate.
        public var cpuSeconds: Double
        /// Peak resident memory while reading, above the resident size before (MB).
        public var peakMB: Double
        /// Issues reported (0 = accepted).
        public var issues: Int
    }

    public struct Result: Sendable, CustomStringConvertible {
        public var cases: [Case]

        public var description: String {
            var lines = ["input: hostile matrix and config files (target: each < 1 s CPU and < 100 MB; release build)"]
            for item in cases {
                let verdict = item.cpuSeconds < 1 && item.peakMB < 100 ? "ok" : "OVER"
                let name = item.name.padding(toLength: 44, withPad: " ", startingAt: 0)
                lines.append(
                    name
                        + String(
                            format: " %5.1f MB  %6.3f s CPU  %6.3f s wall  peak +%6.1f MB  %4d issues  ", Double(item.bytes) / 1e6,
                            item.cpuSeconds, item.seconds, item.peakMB, item.issues) + verdict)
            }
            return lines.joined(separator: "\n")
        }
    }

    static let size = 10_000_000

    /// The cases, as (name, file text); `config` marks a service config.
    static func cases() -> [(name: String, text: String, config: Bool)] {
        let base = #""components": {"g": {"kind": "guest", "repository": "/r", "revision": "main", "build": {"command": "make", "outputs": {"k": "k.bin"}}, "boot": {"kernel": "k"}}}"#
        let chain = #""c": {"levels": [{"component": "g"}], "verdict": {"pass": ["PASS"]}}"#
        func matrix(chains: String = chain, axes: String = #""opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]"#, extra: String = "") -> String {
            #"{"name": "bench", "# + base + #", "chains": {"# + chains + #"}, "axes": {"# + axes + "}" + extra + "}"
        }
        let fill = { (unit: String) in String(repeating: unit, count: size / unit.utf8.count) }
        var result: [(String, String, Bool)] = []
        result.append(("one 10 MB unknown key", #"{"name": "bench", ""# + String(repeating: "k", count: size) + #"": 1}"#, false))
        result.append(("one 10 MB chain name, misspelt reference", matrix(chains: "\"" + String(repeating: "c", count: size / 2) + #"": {"levels": [{"component": "g"}], "verdict": {"pass": ["P"]}}"#, axes: #""chain": [""# + String(repeating: "c", count: size / 2 - 10) + #"x"], "opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]"#), false))
        let keys = (0..<(size / 14)).map { "\"k\($0)\": 1" }.joined(separator: ",")
        result.append(("~700k unknown keys in one object", "{" + keys + "}", false))
        let excludes = (0..<(size / 32)).map { #"{"opt": "O9", "chain": "c\#($0)"}"# }.joined(separator: ",")
        result.append(("~300k bad excludes", matrix(extra: #", "exclude": ["# + excludes + "]"), false))
        let values = (0..<200).map { "\"v\($0)\"" }.joined(separator: ",")
        let validExcludes = (0..<(size / 40)).map { #"{"u": "v\#($0 % 200)", "w": "w\#($0 % 199)"}"# }.joined(separator: ",")
        result.append(("~250k valid excludes of a 40k-cell product", matrix(axes: #""opt": ["O0"], "bits": ["i386"], "backend": ["bochs"], "u": ["# + values + #"], "w": ["# + (0..<200).map { "\"w\($0)\"" }.joined(separator: ",") + "]", extra: #", "exclude": ["# + validExcludes + "]"), false))
        let manyChains = (0..<(size / 90)).map { #""c\#($0)": {"levels": [{"component": "h"}], "verdict": {"pass": ["P"]}}"# }.joined(separator: ",")
        result.append(("~110k chains naming a missing component", matrix(chains: manyChains), false))
        result.append(("10 MB of control characters in a string", matrix(extra: #", "description": ""# + fill(#"\u001b\n"#) + "\""), false))
        result.append(("10 MB of lone surrogates", "[" + fill(#""\ud800","#) + "0]", false))
        result.append(("10 MB of nesting", fill("["), false))
        result.append(("10 MB of numbers with leading zeros", "[" + fill("1,") + "01]", false))
        let entries = (0..<(size / 60)).map { _ in #"{"path": "m.json", "schedule": {"everyHours": 6}}"# }.joined(separator: ",")
        result.append(("config: ~170k entries of one matrix", #"{"matrices": ["# + entries + "]}", true))
        let zones = (0..<(size / 80)).map { #"{"path": "m.json", "schedule": {"daily": "02:30", "timeZone": "Europe/Zurik\#($0)"}}"# }.joined(separator: ",")
        result.append(("config: ~125k unknown time zones", #"{"matrices": ["# + zones + "]}", true))
        return result
    }

    public static func measure() throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-input-bench-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let small = #"{"name": "m", "components": {"g": {"kind": "guest", "repository": "/r", "revision": "main", "build": {"command": "make", "outputs": {"k": "k.bin"}}, "boot": {"kernel": "k"}}}, "chains": {"c": {"levels": [{"component": "g"}], "verdict": {"pass": ["P"]}}}, "axes": {"opt": ["O0"], "bits": ["i386"], "backend": ["bochs"]}}"#
        try small.write(to: folder.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        var measured: [Case] = []
        for (index, item) in cases().enumerated() {
            let path = folder.appendingPathComponent("case\(index).json").path
            try item.text.write(toFile: path, atomically: true, encoding: .utf8)
            let bytes = item.text.utf8.count
            let before = residentMB()
            resetPeak()
            let clock = ContinuousClock()
            let cpuBefore = cpuSeconds()
            var issues = 0
            let elapsed = clock.measure {
                do {
                    if item.config {
                        _ = try ServiceConfig.load(path: path)
                    } else {
                        _ = try MatrixFile.load(path: path).plan()
                    }
                } catch let error as MatrixError {
                    issues = error.issues.count
                } catch {
                    issues = -1
                }
            }
            measured.append(Case(name: item.name, bytes: bytes, seconds: elapsed.seconds, cpuSeconds: cpuSeconds() - cpuBefore, peakMB: max(0, peakMB() - before), issues: issues))
            try? FileManager.default.removeItem(atPath: path)
        }
        return Result(cases: measured)
    }

    private static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Linux: writing 5 to clear_refs resets VmHWM, the peak resident size.
    private static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
    private static func peakMB() -> Double { statusField("VmHWM:") }
    private static func residentMB() -> Double { statusField("VmRSS:") }

    private static func statusField(_ name: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }
}
