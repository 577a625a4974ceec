import Foundation
import Hypervisor
import Matrix

/// `nestci bench boots`, Bochs part: a fixture cell (2 CPUs counting 25 iterations each)
/// booted under Bochs with the settings nestci used before (`ips=50000000`, DESIGN.md's first
/// recipe) and with today's defaults, one boot at a time, alternating: seconds from boot
/// start to the first serial byte and to the pass line, and whether the verdicts agree.
public enum BochsBootBenchmark {
    public struct Figures: Sendable, CustomStringConvertible {
        public var rounds: Int
        /// Per setting (`before`, `after`): seconds to the first byte and to the verdict, per round.
        public var firstOutput: [String: [Double]]
        public var toVerdict: [String: [Double]]
        /// Per setting: the distinct `outcome: deciding line` of its boots.
        public var verdicts: [String: Set<String>]

        public var description: String {
            func text(_ name: String) -> String {
                let first = firstOutput[name] ?? []
                let verdict = toVerdict[name] ?? []
                return String(
                    format: "    %@: first byte median %.2f s, pass median %.2f s (%@)", name == "before" ? "before (ips=50000000)" : "after (ips=\(BochsEmulator.defaultIPS))",
                    PerformanceBand.median(first), PerformanceBand.median(verdict), verdict.map { String(format: "%.2f", $0) }.joined(separator: ", "))
            }
            let same = verdicts["before"] == verdicts["after"] ? "same verdict and deciding line" : "VERDICTS DIFFER: \(verdicts)"
            let speedup = PerformanceBand.median(toVerdict["before"] ?? []) / PerformanceBand.median(toVerdict["after"] ?? [])
            return [
                "boots: Bochs fixture cell (smp 2, 25 iterations per CPU), \(rounds) boots per setting, one at a time",
                text("before"), text("after"),
                String(format: "    speed-up to pass: %.2f×; %@", speedup, same),
            ].joined(separator: "\n")
        }
    }

    static let matrixText = """
        {
          "name": "bench-bochs",
          "components": {
            "fixture": {"kind": "guest", "repository": "kernels", "revision": "main",
              "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
              "boot": {"kernel": "kernel"}}
          },
          "chains": {
            "before": {"levels": [{"component": "fixture", "cmdline": "mode=smp cpus=2 iters=25"}],
                       "verdict": {"pass": [{"regex": "fixture iter", "minPerCPU": 25}]}, "timeouts": {"boot": 120},
                       "emulator": {"bochs": {"lines": ["cpu: ips=50000000"]}}},
            "after": {"levels": [{"component": "fixture", "cmdline": "mode=smp cpus=2 iters=25"}],
                      "verdict": {"pass": [{"regex": "fixture iter", "minPerCPU": 25}]}, "timeouts": {"boot": 120}}
          },
          "axes": {"chain": ["before", "after"], "opt": ["O2"], "bits": ["i386"], "smp": [2], "backend": ["bochs"]}
        }
        """

    /// Nil when Bochs cannot run here.
    public static func run(rounds: Int = 3) async throws -> Figures? {
        guard await HostProbe.fingerprint().availability(of: .bochs).available else { return nil }
        let fixture = try await FixtureMatrix.make(matrix: matrixText)
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        var figures = Figures(rounds: rounds, firstOutput: [:], toVerdict: [:], verdicts: [:])
        let options = RunOptions(store: fixture.store, slots: 1)
        for _ in 0..<rounds {
            let results = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix).results
            for cell in results.cells {
                figures.verdicts[cell.chain, default: []].insert("\(cell.outcome.rawValue): \(cell.reason)")
                if let seconds = cell.secondsToVerdict { figures.toVerdict[cell.chain, default: []].append(seconds) }
                if let first = cell.milestones?.first(where: { $0.name == MilestoneTime.firstOutput }) {
                    figures.firstOutput[cell.chain, default: []].append(first.seconds)
                }
            }
        }
        return figures
    }
}
