import Foundation
import Hypervisor
import Matrix

/// Shows a run as it goes: on a terminal one status line redrawn in place above finished
/// cells; elsewhere (CI logs, the service) plain lines, one per event.
public final class RunProgress: Sendable {
    private let console: Console
    private let state = Mutex(State())

    private struct State {
        var total = 0
        var done = 0
        var running: Set<String> = []
        var counts: [Outcome: Int] = [:]
        var statusShown = false
        /// Builds already reported: every cell that needs a build reports it finished (the
        /// single flight hands all of them the same record), the run prints it once.
        var reportedBuilds: Set<String> = []
    }

    public init(console: Console) { self.console = console }

    public func handle(_ event: RunEvent) {
        state.withLock { state in
            switch event {
            case .started(let runID, let cells, let builds):
                state.total = cells
                emit(&state, "run \(runID): \(cells) cells, \(builds) builds")
            case .buildFinished(let key, let status, let cached, let seconds):
                if !cached, state.reportedBuilds.insert(key).inserted {
                    emit(&state, "  build \(key): \(status) in \(String(format: "%.1f", seconds)) s")
                }
            case .cellBooting(let cellID, let label, let attempt):
                state.running.insert(cellID)
                if !console.isTerminal { emit(&state, "  boot  \(cellID) \(label)\(attempt > 1 ? " (attempt \(attempt))" : "")") }
            case .cellFinished(let result):
                state.running.remove(result.cellID)
                state.done += 1
                state.counts[result.outcome, default: 0] += 1
                let line = result.line.map { " line \($0)" } ?? ""
                emit(&state, "  \(result.outcome.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(result.cellID) \(result.levels) [\(result.backend) smp\(result.smp)]\(line): \(String(result.reason.prefix(100)))")
            }
            if console.isTerminal { drawStatus(&state) }
        }
    }

    private func emit(_ state: inout State, _ text: String) {
        if console.isTerminal, state.statusShown { console.write("\r\u{1B}[2K") }
        state.statusShown = false
        console.print(text)
    }

    private func drawStatus(_ state: inout State) {
        let queued = max(0, state.total - state.done - state.running.count)
        let verdicts = Outcome.allCases.compactMap { outcome in state.counts[outcome].map { "\(outcome.rawValue) \($0)" } }.joined(separator: ", ")
        console.write("\r\u{1B}[2K[\(state.done)/\(state.total) done, \(state.running.count) booting, \(queued) queued] \(verdicts)")
        state.statusShown = true
    }

    /// Ends the status line before the summary is printed.
    public func finish() {
        state.withLock { state in
            if console.isTerminal, state.statusShown { console.write("\n") }
            state.statusShown = false
        }
    }

    /// The summary table printed at the end of `nestci run`.
    public static func summary(_ results: RunResults) -> String {
        var table = TextTable(["cell", "chain", "levels (opt/bits)", "backend", "smp", "outcome", "deciding line", "s"])
        for cell in results.cells {
            let deciding = (cell.line.map { "\($0): " } ?? "") + cell.reason
            table.add([cell.cellID, cell.chain, cell.levels, cell.backend, String(cell.smp), cell.outcome.rawValue, String(deciding.prefix(70)), String(format: "%.1f", cell.bootSeconds)])
        }
        let counts = Outcome.allCases.compactMap { outcome in results.counts[outcome.rawValue].map { "\($0) \(outcome.rawValue)" } }.joined(separator: ", ")
        let wall = results.finished.timeIntervalSince(results.started)
        return table.rendered + "\n\n\(results.cells.count) cells: \(counts) in \(String(format: "%.1f", wall)) s"
    }
}
