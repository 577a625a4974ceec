import Foundation
import Hypervisor
import Matrix

/// `nestci bench slurm`: the 16-cell fixture matrix run locally and through the Slurm
/// executor on a one-node cluster started here, each from a cold store/cache, in one go;
/// several trials, as a ~10 s local run of ~1 s boots varies by half from one run to the next.
public enum SlurmBenchmark {
    public struct Figures: Sendable, CustomStringConvertible {
        public var cells: Int
        /// Cells per Slurm task in this pass.
        public var cellsPerTask: Int
        public var localWall: Double
        public var slurmWall: Double
        public var sameOutcomes: Bool
        /// Per cell: submission → first seen running (builds and free slots included).
        public var toStart: [Double]
        /// Per cell: task wall less its boot (nestci cell run's own work, Slurm's launch).
        public var taskOverhead: [Double]
        /// Per cell: task seen ended → bundle ingested (poll and ingest).
        public var toIngested: [Double]
        /// CPU seconds no cell task ran while cells were running (first start to last end,
        /// times the CPUs, less the tasks' walls): Slurm's launch gaps and dependency waits.
        public var idleCPUSeconds: Double = 0

        /// Every trial's walls; `localWall` and `slurmWall` are their medians.
        public var localWalls: [Double] = []
        public var slurmWalls: [Double] = []

        public var ratio: Double { slurmWall / max(localWall, 0.001) }

        /// The trials of one pass: the trial of the median Slurm wall, with the medians.
        static func combined(_ trials: [Figures]) -> Figures {
            var figures = trials.sorted { $0.slurmWall < $1.slurmWall }[trials.count / 2]
            figures.localWalls = trials.map(\.localWall)
            figures.slurmWalls = trials.map(\.slurmWall)
            figures.localWall = median(figures.localWalls)
            figures.slurmWall = median(figures.slurmWalls)
            figures.sameOutcomes = trials.allSatisfy(\.sameOutcomes)
            return figures
        }

        static func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            guard !sorted.isEmpty else { return .nan }
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }

        public var description: String {
            var lines = [
                "slurm: \(cells) fixture cells on qemu-tcg, cold builds, local (slots = cores) vs one-node Slurm (1 CPU per task), \(cellsPerTask) cell\(cellsPerTask == 1 ? "" : "s") per task",
                String(format: "  wall, median of %d: local %.1f s, slurm %.1f s: ratio %.3f (target <= 1.15); same outcome per cell: %@", max(1, slurmWalls.count), localWall, slurmWall, ratio, sameOutcomes ? "yes" : "NO"),
                "  walls: local " + localWalls.map { String(format: "%.1f", $0) }.joined(separator: " ") + " s, slurm " + slurmWalls.map { String(format: "%.1f", $0) }.joined(separator: " ") + " s (the median trial's figures below)",
                String(format: "  per cell, submission -> running: first %.2f s, median %.2f s, max %.2f s (waits for the builds and a free CPU)", toStart.min() ?? .nan, Self.median(toStart), toStart.max() ?? .nan),
            ]
            // A packed task's cells share its start and wait for each other: per-cell task
            // figures would count the siblings' boots as overhead.
            if cellsPerTask == 1 {
                lines += [
                    String(format: "  per cell, task wall - boot (nestci cell run + Slurm launch): median %.2f s, max %.2f s", Self.median(taskOverhead), taskOverhead.max() ?? .nan),
                    String(format: "  CPU idle while cells ran (launch gaps): %.1f CPU s, %.2f s per cell", idleCPUSeconds, idleCPUSeconds / Double(max(cells, 1))),
                ]
            }
            lines.append(String(format: "  per cell, task ended -> bundle ingested: median %.3f s, max %.3f s", Self.median(toIngested), toIngested.max() ?? .nan))
            return lines.joined(separator: "\n")
        }
    }

    /// The packed pass's cells per task: the fixture's cells come four to a build.
    public static let packedCellsPerTask = 4

    /// `nestci` is the executable the tasks run (this one by default). Each of `trials`
    /// runs the matrix locally and in two Slurm passes, each from a cold store and cache: a
    /// task per cell (the default), and ``packedCellsPerTask`` cells per task.
    public static func run(nestci: String? = nil, trials: Int = 3) async throws -> (perCell: Figures, packed: Figures) {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return try await SlurmLocalCluster.with { cluster in
            var passes: [Int: [Figures]] = [:]
            for trial in 0..<max(1, trials) {
                let started = ContinuousClock.now
                let local = try await RunScheduler(options: RunOptions(store: "\(fixture.folder)/local-store-\(trial)", slots: cores)).run(plan, matrixPath: fixture.matrix)
                let localWall = (ContinuousClock.now - started).seconds
                for perTask in [1, packedCellsPerTask] {
                    passes[perTask, default: []].append(try await pass(
                        plan, fixture: fixture, store: "\(fixture.folder)/slurm-store-\(perTask)-\(trial)", local: local, localWall: localWall, cores: cores,
                        slurm: SlurmOptions(nestci: nestci, environment: cluster.environment, pollInterval: .milliseconds(250), cellsPerTask: perTask)))
                }
            }
            return (Figures.combined(passes[1]!), Figures.combined(passes[packedCellsPerTask]!))
        }
    }

    static func pass(_ plan: Plan, fixture: FixtureMatrix, store: String, local: RunOutcome, localWall: Double, cores: Int, slurm: SlurmOptions) async throws -> Figures {
        let timings = Mutex<[SlurmCellTiming]>([])
        var executor = SlurmExecutor(options: RunOptions(store: store, slots: cores), slurm: slurm)
        executor.onTiming = { timing in timings.withLock { $0.append(timing) } }
        let started = ContinuousClock.now
        let slurmRun = try await executor.run(plan, matrixPath: fixture.matrix, runID: nil, resume: false)
        let slurmWall = (ContinuousClock.now - started).seconds
        let outcomes = { (run: RunOutcome) in Dictionary(uniqueKeysWithValues: run.results.cells.map { ($0.cellID, $0.outcome) }) }
        let boots = Dictionary(uniqueKeysWithValues: slurmRun.results.cells.map { ($0.cellID, $0.bootSeconds) })
        let all = timings.withLock { $0 }
        var figures = Figures(
            cells: plan.cells.count, cellsPerTask: slurm.cellsPerTask, localWall: localWall, slurmWall: slurmWall, sameOutcomes: outcomes(local) == outcomes(slurmRun),
            toStart: all.map { $0.started.timeIntervalSince($0.submitted) },
            taskOverhead: all.map { $0.ended.timeIntervalSince($0.started) - (boots[$0.cellID] ?? 0) },
            toIngested: all.map { $0.ingested.timeIntervalSince($0.ended) })
        if let first = all.map(\.started).min(), let last = all.map(\.ended).max() {
            let busy = all.map { $0.ended.timeIntervalSince($0.started) }.reduce(0, +)
            figures.idleCPUSeconds = max(0, Double(cores) * last.timeIntervalSince(first) - busy)
        }
        return figures
    }
}
