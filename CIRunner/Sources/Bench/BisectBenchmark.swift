import Foundation
import Hypervisor
import Matrix

/// `nestci bench bisect`: boots a bisection needs on a 64-commit fixture history with one
/// culprit (real builds, GRUB disks and qemu-tcg boots), without flakes and with a seeded
/// flaky failure on 10 % of the good commits.
public enum BisectBenchmark {
    public struct Trial: Sendable {
        public var seed: UInt32
        /// The culprit's number in the history (1-based): varied per flaky trial.
        public var culprit: Int
        public var flakyCommits: Int
        /// Flaky good commits the flake-free search path (and the culprit's parent) boots.
        public var flakyOnPath: Int
        public var right: Bool
        /// Boots while bisecting, and for the confirmation.
        public var bisectBoots: Int
        public var confirmBoots: Int
        /// Boots of good commits that failed (the seeded flake seen), and the flaky good
        /// commits the bisection booted.
        public var flakyBoots: Int
        public var flakyCommitsBooted: Int
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
            let flakyBoots = flaky.reduce(0) { $0 + $1.flakyBoots }
            let booted = flaky.reduce(0) { $0 + $1.flakyCommitsBooted }
            let hit = flaky.filter { $0.flakyBoots > 0 }.count
            return [
                "bisect: \(commits) commits after good, culprit #\(culprit), qemu-tcg fixture kernel; ⌈log2 n⌉ = \(log2n)",
                "  no flakes: \(steady.bisectBoots) boots to the culprit (target <= ⌈log2 n⌉ + 2 = \(log2n + 2)) + \(steady.confirmBoots) confirmation boots, \(steady.steps) steps, \(steady.right ? "right culprit" : "WRONG culprit"), \(String(format: "%.0f", steady.seconds)) s",
                "  flaky (10 % of good commits fail on 1/4 of boots; culprit moved and seed picked per trial so its search path boots a flaky good commit; \(bootsPerStep) boots a step = FlakeRule for rate 0.25): right culprit in \(right)/\(flaky.count) trials",
                String(format: "  boots per trial: mean %.1f, min %d, max %d (%.1f × ⌈log2 n⌉ = %d)", mean, boots.min() ?? 0, boots.max() ?? 0, mean / Double(log2n), log2n),
                "  flaky boots seen: \(flakyBoots) (good commits failing like the culprit) in \(hit)/\(flaky.count) trials; \(booted) flaky good commits booted",
                "  per trial (seed, culprit: flaky commits, boots bisect+confirm, flaky boots): "
                    + flaky.map { "\($0.seed) #\($0.culprit): \($0.flakyCommits), \($0.bisectBoots)+\($0.confirmBoots), \($0.flakyBoots)\($0.right ? "" : " WRONG")" }.joined(separator: "; "),
            ].joined(separator: "\n")
        }
    }

    /// Whether `seed` makes good commit number `index` flaky: the fixture kernel's hash.
    static func isFlaky(seed: UInt32, index: Int) -> Bool {
        var h = (seed &* 2_654_435_761) ^ (UInt32(index) &* 40503 &+ 0x9e37)
        h ^= h >> 13
        h = h &* 0x5bd1_e995
        h ^= h >> 15
        return seed != 0 && h % 10 == 0
    }

    /// The good commits (1-based index < culprit) that `seed` makes flaky.
    static func flakyCount(seed: UInt32, culprit: Int) -> Int {
        (1..<max(1, culprit)).filter { isFlaky(seed: seed, index: $0) }.count
    }

    /// The culprit of flaky trial `trial` (1-based): spread over the history, 2...commits.
    static func culprit(trial: Int, commits: Int) -> Int {
        2 + (trial * 37) % (commits - 1)
    }

    /// The first seed from `start` that makes one of `goods` (commit numbers) flaky, so the
    /// trial really meets a flake; `start` when none does within 10,000 seeds.
    static func seed(from start: UInt32, hitting goods: [Int]) -> UInt32 {
        for offset in UInt32(0)..<10_000 where goods.contains(where: { isFlaky(seed: start &+ offset, index: $0) }) {
            return start &+ offset
        }
        return start
    }

    public static func run(commits: Int = 64, culprit: Int = 37, trials: Int = 20, progress: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Figures {
        let fixture = try await BisectFixture.make()
        defer { fixture.remove() }
        // One history: the culprit is chosen per trial on the kernel's command line, so
        // every trial shares the build cache.
        let good = try await fixture.git("rev-parse", "HEAD")
        var numbered: [String] = []
        for index in 1...commits {
            numbered.append(try await fixture.commit("commit \(index)", behaviour: .numbered(index, bad: false)))
        }
        let number = Dictionary(uniqueKeysWithValues: numbered.enumerated().map { ($1, $0 + 1) })
        let store = try ArtifactStore(root: fixture.store)
        let options = RunOptions(store: fixture.store, slots: 1)
        let history = GitHistory(mirror: try await RevisionResolver(store: URL(fileURLWithPath: fixture.store)).update(repository: fixture.repository))

        /// The good commits a flake-free bisection boots (git's own order) and the culprit's parent.
        func goodsOnPath(culprit: Int) async throws -> [Int] {
            var goods = [good]
            var bad = numbered[commits - 1]
            var tested: [Int] = []
            while let next = try await history.candidates(bad: bad, goods: goods).first(where: { $0 != bad }) {
                guard let index = number[next] else { break }
                if index >= culprit { bad = next } else { goods.append(next); tested.append(index) }
            }
            return tested + (culprit > 1 ? [culprit - 1] : [])
        }

        func trial(seed: UInt32, culprit: Int, runs: Int) async throws -> Trial {
            let path = try await goodsOnPath(culprit: culprit)
            let text = BisectFixture.matrixText.replacingOccurrences(of: "mode=pass exit=1", with: "mode=pass exit=1 flakeseed=\(seed) culprit=\(culprit)")
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
            // Each boot once (a confirmation lists reused boots again), good commits only.
            var goodBoots: [String: Outcome] = [:]
            for step in record.steps where (number[step.commit] ?? 0) < culprit {
                for (id, outcome) in zip(step.cellIDs, step.outcomes) { goodBoots[id] = outcome }
            }
            let booted = Set(record.steps.compactMap { number[$0.commit] }.filter { $0 < culprit && isFlaky(seed: seed, index: $0) })
            let result = Trial(
                seed: seed, culprit: culprit, flakyCommits: flakyCount(seed: seed, culprit: culprit),
                flakyOnPath: Set(path.filter { isFlaky(seed: seed, index: $0) }).count, right: record.culprit?.commit == numbered[culprit - 1],
                bisectBoots: boots(.bisect), confirmBoots: max(0, confirmNew), flakyBoots: goodBoots.values.filter(\.isFailure).count,
                flakyCommitsBooted: booted.count, steps: record.stepCount, seconds: (ContinuousClock.now - started).seconds)
            progress("seed \(seed), culprit #\(culprit) (\(result.flakyOnPath) flaky on its path): \(record.resultLine); \(result.flakyBoots) flaky boot(s)")
            return result
        }

        let steady = try await trial(seed: 0, culprit: culprit, runs: 1)
        let k = FlakeRule.bootsFor(rate: 0.25)
        var flaky: [Trial] = []
        for index in 1...max(1, trials) {
            let at = Self.culprit(trial: index, commits: commits)
            let seed = Self.seed(from: UInt32(index) &* 7919, hitting: try await goodsOnPath(culprit: at))
            flaky.append(try await trial(seed: seed, culprit: at, runs: k))
        }
        return Figures(commits: commits, culprit: culprit, steady: steady, bootsPerStep: k, flaky: flaky)
    }
}
