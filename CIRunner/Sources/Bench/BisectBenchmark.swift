import Foundation
import Hypervisor
import Matrix

/// `nestci bench bisect`: boots a bisection needs on a 64-commit fixture history with one
/// culprit (real builds, GRUB disks and qemu-tcg boots), without flakes and with a seeded
/// flaky failure on 10 % of the good commits.
public enum BisectBenchmark {
    public struct Trial: Sendable {
        public var seed: UInt32
        public var flakyCommits: Int
        public var right: Bool
        /// Boots while bisecting, and for the confirmation.
        public var bisectBoots: Int
        public var confirmBoots: Int
        public var steps: Int
        public var seconds: Double
    }

    public struct Figures: Sendable, CustomStringConvertible {
        public var commits: Int
        public var culprit: Int
        public var steady: Trial
        public var bootsPerStep: Int
        public var flaky: [Trial]

        public var log2n: Int { Int(ceil(log2(Double(commits)))) }

        public var description: String {
            let right = flaky.filter(\.right).count
            let boots = flaky.map { $0.bisectBoots + $0.confirmBoots }
            let mean = boots.isEmpty ? 0 : Double(boots.reduce(0, +)) / Double(boots.count)
            return [
                "bisect: \(commits) commits after good, culprit #\(culprit), qemu-tcg fixture kernel; ⌈log2 n⌉ = \(log2n)",
                "  no flakes: \(steady.bisectBoots) boots to the culprit (target <= ⌈log2 n⌉ + 2 = \(log2n + 2)) + \(steady.confirmBoots) confirmation boots, \(steady.steps) steps, \(steady.right ? "right culprit" : "WRONG culprit"), \(String(format: "%.0f", steady.seconds)) s",
                "  flaky (10 % of good commits fail on 1/4 of boots, seeded per trial; \(bootsPerStep) boots a step = FlakeRule for rate 0.25): right culprit in \(right)/\(flaky.count) trials",
                String(format: "  boots per trial: mean %.1f, min %d, max %d (%.1f × ⌈log2 n⌉)", mean, boots.min() ?? 0, boots.max() ?? 0, mean / Double(log2n)),
                "  per trial (seed: flaky commits, boots bisect+confirm): " + flaky.map { "\($0.seed): \($0.flakyCommits), \($0.bisectBoots)+\($0.confirmBoots)\($0.right ? "" : " WRONG")" }.joined(separator: "; "),
            ].joined(separator: "\n")
        }
    }

    /// The good commits (1-based index < culprit) that `seed` makes flaky: the kernel's hash.
    static func flakyCount(seed: UInt32, culprit: Int) -> Int {
        (1..<culprit).filter { index in
            var h = (seed &* 2_654_435_761) ^ (UInt32(index) &* 40503 &+ 0x9e37)
            h ^= h >> 13
            h = h &* 0x5bd1_e995
            h ^= h >> 15
            return seed != 0 && h % 10 == 0
        }.count
    }

    public static func run(commits: Int = 64, culprit: Int = 37, trials: Int = 20, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Figures {
        let fixture = try await BisectFixture.make()
        defer { fixture.remove() }
        var culpritCommit = ""
        for index in 1...commits {
            let commit = try await fixture.commit("commit \(index)", behaviour: .numbered(index, bad: index >= culprit))
            if index == culprit { culpritCommit = commit }
        }
        let store = try ArtifactStore(root: fixture.store)
        let options = RunOptions(store: fixture.store, slots: 1)

        func trial(seed: UInt32, runs: Int) async throws -> Trial {
            let text = BisectFixture.matrixText.replacingOccurrences(of: "mode=pass exit=1", with: "mode=pass exit=1 flakeseed=\(seed)")
            try text.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
            let plan = try MatrixFile.load(path: fixture.matrix).plan()
            let started = ContinuousClock.now
            let run = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)
            guard let cell = run.results.cells.first, cell.outcome == .fail else {
                throw RunError(.setup, "bench bisect: main should fail, got \(run.results.cells.first?.reason ?? "no cell")")
            }
            let record = try await Bisector.run(
                BisectRequest(runID: run.results.runID, cellID: cell.cellID, good: "good", runs: runs, maxSteps: 30), store: store, options: options)
            let boots = { (purpose: BisectStep.Purpose) in record.steps.filter { $0.purpose == purpose }.reduce(0) { $0 + $1.outcomes.count } }
            // Confirmation boots reuse the bisect's boots of the same commits: count only new ones.
            let confirmNew = record.boots - boots(.bisect)
            let result = Trial(
                seed: seed, flakyCommits: flakyCount(seed: seed, culprit: culprit), right: record.culprit?.commit == culpritCommit,
                bisectBoots: boots(.bisect), confirmBoots: max(0, confirmNew), steps: record.stepCount, seconds: (ContinuousClock.now - started).seconds)
            progress("seed \(seed): \(record.resultLine)")
            return result
        }

        let steady = try await trial(seed: 0, runs: 1)
        let k = FlakeRule.bootsFor(rate: 0.25)
        var flaky: [Trial] = []
        for index in 1...max(1, trials) {
            flaky.append(try await trial(seed: UInt32(index) &* 7919, runs: k))
        }
        return Figures(commits: commits, culprit: culprit, steady: steady, bootsPerStep: k, flaky: flaky)
    }
}
