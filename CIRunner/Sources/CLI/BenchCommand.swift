import Foundation
import Hypervisor

/// `nestci bench WHAT`: the project's own speed and memory figures, with their targets.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", summary: "measure nestci: builds, boots, evidence parsing, store listing (figures and ratios)",
        discussion: """
            builds    12 requests sharing 4 keys: builds run / unique keys, cache-hit re-run vs cold, nestci CPU share
            boots     16 fixture cells on qemu-tcg: verdict latency, matrix wall time vs its lower bound
            serial    8 fixture guests flooding serial at once: nestci peak RSS, largest raw capture
            evidence  serial scan + VMCS parse throughput on 100 MB of synthetic serial output
            store     time to list 10,000 runs from the store's SQLite index
            input     hostile 10 MB matrix and config files through the reader (each < 1 s, < 100 MB)
            slurm     16 fixture cells locally and through a one-node Slurm started here (root): wall ratio, per-cell overhead
            all       all of them
            Run it from a release build (`swift build -c release`) for figures worth comparing.
            """,
        arguments: [.init("WHAT", optional: true, help: "builds | boots | serial | evidence | store | input | slurm | all (default all; slurm only by name)")])

    static let entry = CommandEntry(spec) { arguments, console in
        let what = arguments.positionals.first ?? "all"
        let known = ["builds", "boots", "serial", "evidence", "store", "input", "slurm", "all"]
        guard known.contains(what) else { throw UsageError("unknown benchmark \"\(what)\" (expected \(known.joined(separator: ", ")))", command: spec) }
        if what == "builds" || what == "all" { console.print(try await BuildBenchmark.run().description) }
        if what == "evidence" || what == "all" { console.print(EvidenceBenchmark.measure().description) }
        if what == "store" || what == "all" { console.print(try await StoreBenchmark.measure().description) }
        if what == "input" || what == "all" { console.print(try InputBenchmark.measure().description) }
        if what == "boots" || what == "all" { console.print(try await BootBenchmark.run().description) }
        if what == "serial" || what == "all" { console.print(try await SerialBenchmark.run().description) }
        // Not in "all": it needs root and starts Slurm daemons.
        if what == "slurm" { console.print(try await SlurmBenchmark.run().description) }
        return .success
    }
}
