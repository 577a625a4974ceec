import Foundation
import Matrix

/// `nestci bench serial`, milestone part: what timing milestones costs the verdict state
/// machine, which judges every serial line while the guest runs. The same 400,000 XMHF-style
/// lines are judged without milestones, with the XMHF64 example's three (reached early, then
/// free), and with three that never match (the worst case: tested on every line).
public enum MilestoneBenchmark {
    public struct Figures: Sendable, CustomStringConvertible {
        public var lines: Int
        /// Best of the rounds, lines per second, per variant.
        public var none: Double
        public var reached: Double
        public var neverReached: Double

        public var description: String {
            String(
                format: "  verdict state machine, %d lines: %.0f lines/s without milestones, %.0f with 3 reached (%+.1f %%), %.0f with 3 never reached (%+.1f %%)",
                lines, none, reached, (reached / none - 1) * 100, neverReached, (neverReached / none - 1) * 100)
        }
    }

    static let reachedMilestones = [
        Marker(name: "banner", regex: "^eXtensible Modular Hypervisor Framework"),
        Marker(name: "runtime", regex: "Transferring control to runtime"),
        Marker(name: "first-iter", regex: "LHV in XMHF test iter"),
    ]
    static let neverMilestones = [
        Marker(name: "a", regex: "never printed one"), Marker(name: "b", regex: "never printed two"), Marker(name: "c", regex: "Kernel panic - not"),
    ]

    public static func run(lines count: Int = 400_000, rounds: Int = 3) throws -> Figures {
        let head = ["eXtensible Modular Hypervisor Framework (XMHF) v6.1.0", "SL: setup runtime paging structures.", "Transferring control to runtime"]
        let body = (0..<count).map { index in
            index % 4 == 0 ? "CPU(0x0\(index % 2)): LHV in XMHF test iter \(index / 4)" : "CPU(0x00): nested vmexit reason=\(index % 64) rip=0x\(String(index, radix: 16))"
        }
        let lines = head + body
        // Never passes: every line goes through every rule, as in a long boot.
        let rules = VerdictRules(
            pass: [PassRule(marker: Marker(name: "iter", regex: "LHV in XMHF test iter"), minPerCPU: 10_000_000)],
            fail: VerdictRules.defaultFailMarkers, unsupported: VerdictRules.defaultUnsupportedMarkers)
        func rate(_ milestones: [Marker]) throws -> Double {
            var machine = try VerdictStateMachine(rules: rules, smp: 2, hostHasVMX: true, milestones: milestones)
            let started = ContinuousClock.now
            for (index, line) in lines.enumerated() { _ = machine.serialLine(number: index + 1, text: line, at: .milliseconds(index)) }
            return Double(lines.count) / max((ContinuousClock.now - started).seconds, 1e-9)
        }
        var best = (none: 0.0, reached: 0.0, never: 0.0)
        for _ in 0..<rounds {
            best.none = max(best.none, try rate([]))
            best.reached = max(best.reached, try rate(reachedMilestones))
            best.never = max(best.never, try rate(neverMilestones))
        }
        return Figures(lines: lines.count, none: best.none, reached: best.reached, neverReached: best.never)
    }
}
