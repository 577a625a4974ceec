import Foundation
import Hypervisor
import Matrix

/// `nestci bench boots`: how quickly a decided cell is done, and how close a matrix's wall
/// time comes to what its cells' durations allow with the given slots.
public enum BootBenchmark {
    public struct Figures: Sendable, CustomStringConvertible {
        public var cells: Int
        public var slots: Int
        public var latencies: [Double]
        public var wallSeconds: Double
        public var bootSeconds: [Double]

        public var medianLatency: Double {
            let sorted = latencies.sorted()
            guard !sorted.isEmpty else { return .nan }
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }

        /// No schedule can beat the longest cell, nor the total work spread over all slots.
        public var lowerBound: Double { max(bootSeconds.max() ?? 0, bootSeconds.reduce(0, +) / Double(slots)) }
        public var ratio: Double { wallSeconds / max(lowerBound, 0.001) }

        public var description: String {
            [
                "boots: \(cells) cells on qemu-tcg, \(slots) slots (builds and disks cached by a warm-up run)",
                String(format: "  verdict latency (deciding line written -> emulator gone): median %.3f s, max %.3f s (target <= 0.3 s median)", medianLatency, latencies.max() ?? .nan),
                String(format: "  matrix wall time %.2f s vs lower bound %.2f s (max cell, or total / slots): ratio %.3f (target <= 1.05)", wallSeconds, lowerBound, ratio),
            ].joined(separator: "\n")
        }
    }

    public static func run(slots: Int = ProcessInfo.processInfo.activeProcessorCount) async throws -> Figures {
        let fixture = try await FixtureMatrix.make()
        defer { fixture.remove() }
        let plan = try MatrixFile.load(path: fixture.matrix).plan()
        let options = RunOptions(store: fixture.store, slots: slots)
        _ = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix)  // warm-up: builds and disks
        let started = ContinuousClock.now
        let results = try await RunScheduler(options: options).run(plan, matrixPath: fixture.matrix).results
        let wall = (ContinuousClock.now - started).seconds
        return Figures(
            cells: results.cells.count, slots: slots, latencies: results.cells.compactMap(\.verdictLatencySeconds), wallSeconds: wall,
            bootSeconds: results.cells.map(\.bootSeconds))
    }
}
