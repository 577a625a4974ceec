import Foundation

/// Throughput of evidence scanning (line splitting + VMCS dump parsing) over a synthetic serial
/// log, for `nestci bench evidence`. A night's logs are scanned while emulators still write
/// them, so this must stay far above the rate any console produces.
public enum EvidenceBenchmark {
    /// What one measurement saw and how fast.
    public struct Result: Sendable, Hashable, Codable, CustomStringConvertible {
        public var bytes: Int
        public var lines: Int
        public var dumps: Int
        public var fields: Int
        public var malformedLines: Int
        public var seconds: Double
        /// Decimal megabytes (10^6 bytes) per second.
        public var megabytesPerSecond: Double
        /// CPU time the scanning thread used: below `seconds` when other processes share
        /// the cores, so `bytes / cpuSeconds` is the scanner's own speed.
        public var cpuSeconds: Double = 0

        public var description: String {
            let mb = Double(bytes) / 1e6
            return "scanned \(format(mb)) MB (\(lines) lines, \(dumps) VMCS dumps, \(fields) fields, \(malformedLines) malformed) "
                + "in \(format(seconds)) s: \(format(megabytesPerSecond)) MB/s "
                + "(CPU \(String(format: "%.2f", cpuSeconds)) s: \(format(mb / max(cpuSeconds, 1e-9))) MB/s of CPU time)"
        }

        private func format(_ value: Double) -> String {
            let scaled = (value * 10).rounded() / 10
            return String(scaled)
        }
    }

    /// Generates `megabytes` (decimal) of serial text, then times splitting it into lines and
    /// parsing VMCS dumps from it in `chunkSize` pieces, as the follower reads a file. The
    /// generation is not timed. Run it from a release build; debug builds are ~10× slower.
    public static func measure(megabytes: Int = 100, chunkSize: Int = 64 * 1024, seed: UInt64 = 1) -> Result {
        let log = syntheticLog(bytes: megabytes * 1_000_000, seed: seed)
        let clock = ContinuousClock()
        var parser = VMCSDumpParser()
        let start = clock.now
        let cpuStart = threadCPUSeconds()
        log.withUnsafeBytes { all in
            var offset = 0
            while offset < all.count {
                let end = min(all.count, offset + chunkSize)
                parser.feed(UnsafeRawBufferPointer(rebasing: all[offset..<end]))
                offset = end
            }
        }
        let set = parser.finish()
        let elapsed = clock.now - start
        let cpuSeconds = threadCPUSeconds() - cpuStart
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return Result(
            bytes: log.count, lines: parser.fieldLines + parser.malformedLines + parser.otherLines, dumps: set.dumps.count,
            fields: set.dumps.reduce(0) { $0 + $1.fields.count }, malformedLines: set.malformedLines, seconds: seconds,
            megabytesPerSecond: Double(log.count) / 1e6 / max(seconds, 1e-9), cpuSeconds: cpuSeconds)
    }

    /// CPU time of the calling thread (the scan runs on one, synchronously).
    static func threadCPUSeconds() -> Double {
        var time = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time) == 0 else { return 0 }
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// A serial log shaped like XMHF64 under nesting: boot chatter without a CPU prefix, two
    /// CPUs' test loops, `\r\n` endings, a few long lines, and now and then a VMCS dump of
    /// ~60 fields introduced by an error line. About 10 % of the bytes are dump lines —
    /// far more than a real log, so the parser's share of the cost is not understated.
    public static func syntheticLog(bytes target: Int, seed: UInt64 = 1) -> [UInt8] {
        var random = Random(state: seed)
        var out: [UInt8] = []
        out.reserveCapacity(target + 1024)
        let fields = VMCSField.all.filter { !$0.isHighAccess }.prefix(60)
        let chatter = [
            "e820: 0x0000000000100000 - 0x000000003fff0000 (type 1)", "ACPI RSDP at 0x000f9fe0",
            "\tlen=0x00000034, headerlen=0x00000024, numentries=4", "Relocating runtime to 0x10000000",
            "Transferring control to runtime", "eXtensible Modular Hypervisor Framework (XMHF) v6.1.0",
        ]
        var iteration = [0, 0]
        while out.count < target {
            let roll = random.next() % 1000
            if roll < 8 {
                let cpu = Int(random.next() % 2)
                append("CPU(0x0\(cpu)): VMRESUME error in nested virtualization\r\n", to: &out)
                for field in fields {
                    let value = random.next() >> (64 - UInt64(field.width.hexDigits * 4))
                    append("CPU(0x0\(cpu)): (\(field.hexEncoding)) VMCS02.field_\(field.index) = ", to: &out)
                    append(VMCSValue.value(value).formatted(digits: field.width.hexDigits) + "\r\n", to: &out)
                }
            } else if roll < 600 {
                let cpu = Int(random.next() % 2)
                iteration[cpu] += 1
                append("CPU(0x0\(cpu)): LHV in XMHF test iter \(iteration[cpu])\n", to: &out)
            } else if roll < 990 {
                append(chatter[Int(random.next() % UInt64(chatter.count))] + "\r\n", to: &out)
            } else {
                // A long line (a hex dump), still under the scanner's cap.
                for _ in 0..<40 { append("deadbeef cafebabe ", to: &out) }
                out += [0x0d, 0x0a]
            }
        }
        return out
    }

    private static func append(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// SplitMix64, so the same seed gives the same log everywhere.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}
