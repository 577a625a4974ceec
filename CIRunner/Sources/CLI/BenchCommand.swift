import Foundation
import Hypervisor

/// `nestci bench WHAT`: the project's own speed and memory figures, with their targets.
enum BenchCommand {
    static let spec = CommandSpec(
        name: "bench", summary: "measure nestci: builds, boots, evidence parsing, store listing (figures and ratios)",
        discussion: """
            builds    12 requests sharing 4 keys: builds run / unique keys, cache-hit re-run vs cold, nestci CPU share
            boots     16 fixture cells on qemu-tcg: verdict latency, matrix wall time vs its lower bound;
                      a Bochs fixture cell with the old and the current Bochs settings: seconds to pass
            serial    8 fixture guests flooding serial at once: nestci peak RSS, largest raw capture;
                      the verdict state machine's lines/s with and without milestones
            evidence  serial scan + VMCS parse throughput on 100 MB of synthetic serial output
            store     time to list 10,000 runs from the store's SQLite index
            input     hostile 10 MB matrix and config files through the reader (each < 1 s, < 100 MB)
            bisect    64-commit fixture history, qemu-tcg: boots to the culprit without flakes and over 20
                      trials with a seeded flaky failure on 10 % of good commits, the culprit moved and the
                      seed picked per trial so the search meets a flaky commit; flaky boots seen (not in `all`)
            triage    -O triage of the fixture kernels and the demo: builds+boots to name 1 flag of F, 1 unit of U (not in all)
            slurm     16 fixture cells locally and through a one-node Slurm started here (root), a task per
                      cell and 4 cells per task: wall ratio of the medians of 3 trials (NESTCI_BENCH_TRIALS),
                      per-cell overhead (not in all)
            all       all of them
            Run it from a release build (`swift build -c release`) for figures worth comparing.
            """,
        arguments: [.init("WHAT", optional: true, help: "builds | boots | serial | evidence | store | input | bisect | triage | slurm | all (default all; bisect, triage, slurm only by name)")])

    static let entry = CommandEntry(spec) { arguments, console in
        let what = arguments.positionals.first ?? "all"
        let known = ["builds", "boots", "serial", "evidence", "store", "input", "bisect", "triage", "slurm", "all"]
        guard known.contains(what) else { throw UsageError("unknown benchmark \"\(what)\" (expected \(known.joined(separator: ", ")))", command: spec) }
        if what == "builds" || what == "all" { console.print(try await BuildBenchmark.run().description) }
        if what == "evidence" || what == "all" { console.print(EvidenceBenchmark.measure().description) }
        if what == "store" || what == "all" { console.print(try await StoreBenchmark.measure().description) }
        if what == "input" || what == "all" { console.print(try InputBenchmark.measure().description) }
        if what == "boots" || what == "all" {
            console.print(try await BootBenchmark.run().description)
            console.print(try await BochsBootBenchmark.run()?.description ?? "boots: Bochs cannot run here, no Bochs figures")
        }
        if what == "serial" || what == "all" {
            console.print(try await SerialBenchmark.run().description)
            console.print(try MilestoneBenchmark.run().description)
        }
        if what == "bisect" {
            let trials = ProcessInfo.processInfo.environment["NESTCI_BENCH_TRIALS"].flatMap(Int.init) ?? 20
            console.print(try await BisectBenchmark.run(trials: trials) { console.print("  \($0)") }.description)
        }
        if what == "triage" { try await TriageBenchmark.run { console.print("  " + $0) }.forEach { console.print($0.description) } }
        // Not in "all": it needs root and starts Slurm daemons.
        if what == "slurm" {
            let passes = try await SlurmBenchmark.run(trials: ProcessInfo.processInfo.environment["NESTCI_BENCH_TRIALS"].flatMap(Int.init) ?? 3)
            console.print(passes.perCell.description)
            console.print(passes.packed.description)
        }
        return .success
    }
}
