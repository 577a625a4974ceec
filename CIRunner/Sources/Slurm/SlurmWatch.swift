import Foundation

/// The Slurm executor's decisions about a run's cell tasks, from what `scontrol` reports:
/// a pure state machine (tested without Slurm); ``SlurmExecutor`` carries out its actions.
///
/// Retries: a task that exits 75 (INFRA) or is lost with its node (NODE_FAIL, or found
/// requeued by Slurm after it ran) is INFRA for that attempt and is requeued while its
/// attempts are within `retries`; after that its last INFRA is the cell's result.
struct SlurmWatch {
    enum Action: Equatable {
        /// The task started running (attempt = Slurm's restart count).
        case started(index: Int, jobID: String, attempt: Int)
        /// Ingest the bundle of that attempt.
        case ingest(index: Int, attempt: Int)
        /// Requeue the task (this attempt was INFRA for `reason`); `jobID` is its ``SlurmTask/taskSpec``.
        case requeue(index: Int, jobID: String, reason: String)
        /// A requeued task waits for its begin time: let it start now (`jobID`: its task spec).
        case startNow(jobID: String)
        /// Slurm requeued the task by itself (its node was lost): that attempt was INFRA.
        case lost(index: Int, attempt: Int, reason: String)
        /// Record INFRA for the cell, cancelling its task when `cancel` is set.
        case infra(index: Int, reason: String, cancel: String?)
    }

    let retries: Int
    private(set) var finished: Set<Int> = []
    private var lastSeen: [Int: (state: String, restarts: Int)] = [:]
    private var released: Set<String> = []
    private var startedSeen: Set<String> = []
    /// Attempts already requeued (scontrol may report the ended state once more after).
    private var requeued: Set<String> = []

    init(retries: Int, finished: Set<Int> = []) {
        self.retries = retries
        self.finished = finished
    }

    /// `scriptEnded`: the task script wrote its exit status into the spool for this attempt
    /// (a task killed with its node never does, whatever state Slurm gives it).
    mutating func observe(_ task: SlurmTask, scriptEnded: Bool = true) -> [Action] {
        guard let index = task.taskID, !finished.contains(index) else { return [] }
        var actions: [Action] = []
        let previous = lastSeen[index]
        lastSeen[index] = (task.state, task.restarts)
        // Ran, then found pending again with one more restart and not by our requeue: lost with its node.
        if let previous, task.restarts > previous.restarts, ["RUNNING", "COMPLETING"].contains(previous.state) {
            actions.append(.lost(index: index, attempt: previous.restarts, reason: "task lost with its node (Slurm requeued it: \(task.reason))"))
            if task.restarts > retries {
                finished.insert(index)
                return actions + [.infra(index: index, reason: "lost with its node \(task.restarts) times (retries \(retries))", cancel: task.taskSpec)]
            }
        }
        switch task.state {
        case "PENDING" where task.reason == "BeginTime":
            if released.insert("\(task.taskSpec).\(task.restarts)").inserted { actions.append(.startNow(jobID: task.taskSpec)) }
        case "RUNNING":
            if startedSeen.insert("\(index).\(task.restarts)").inserted {
                actions.append(.started(index: index, jobID: task.jobID, attempt: task.restarts))
            }
        case _ where task.isFinal:
            actions.append(contentsOf: ended(task, index: index, scriptEnded: scriptEnded))
        default:
            break
        }
        return actions
    }

    private mutating func ended(_ task: SlurmTask, index: Int, scriptEnded: Bool) -> [Action] {
        let retryable: String?
        if task.lostWithNode {
            retryable = "task lost with its node \(task.nodes) (\(task.state), \(task.reason))"
        } else if !scriptEnded, task.state != "CANCELLED", task.state != "TIMEOUT" {
            retryable = "the task ended \(task.state) (\(task.reason)) on \(task.nodes) before nestci cell run wrote its exit status: killed with its node"
        } else if task.state == "TIMEOUT" {
            retryable = "the task's Slurm time limit passed (\(task.reason))"
        } else if task.exitCode == 75 {
            retryable = "the task exited 75 (INFRA)"
        } else {
            retryable = nil
        }
        if let retryable {
            if task.restarts < retries {
                return requeued.insert("\(index).\(task.restarts)").inserted ? [.requeue(index: index, jobID: task.taskSpec, reason: retryable)] : []
            }
            finished.insert(index)
            return task.exitCode == 75 ? [.ingest(index: index, attempt: task.restarts)] : [.infra(index: index, reason: retryable, cancel: nil)]
        }
        finished.insert(index)
        if ["COMPLETED", "FAILED"].contains(task.state), let exit = task.exitCode, exit == 0 || exit == 1 {
            return [.ingest(index: index, attempt: task.restarts)]
        }
        if task.state == "CANCELLED" { return [.infra(index: index, reason: "the task was cancelled in Slurm (\(task.reason))", cancel: nil)] }
        return [.infra(index: index, reason: "the task ended \(task.state) with exit \(task.exitCode.map(String.init) ?? "?"):\(task.signal) (\(task.reason))", cancel: nil)]
    }

    /// What the watch decides on for each cell of a task that runs `cells` in turn: the
    /// task as that cell sees it (`taskID` = the cell's index). `statuses` holds each cell's
    /// latest exit status and its attempt, as the task script wrote them.
    /// - A cell that ended PASS/FAIL/SKIP (0/1) in this attempt, or in an earlier one (a
    ///   requeued task skips it), is ended with its own status: ingested now, even while the
    ///   task still runs its other cells.
    /// - Once the task ended, a cell with a status of this attempt is ended with it (75 asks
    ///   for a requeue of the task); one without was never reached or was killed, so it has
    ///   the task's own end and no script status.
    /// - Otherwise the cell has the task's state (pending, running).
    static func cellViews(of task: SlurmTask, cells: [Int], statuses: [Int: (attempt: Int, exit: Int)]) -> [(task: SlurmTask, scriptEnded: Bool)] {
        cells.map { cell in
            var view = task
            // Its Slurm name stays the task's (what scontrol requeue and scancel get).
            view.jobID = task.taskSpec
            view.arrayJobID = nil
            view.taskID = cell
            guard let status = statuses[cell], status.attempt <= task.restarts else {
                return (view, !task.isFinal)
            }
            let finishedEarlier = status.exit == 0 || status.exit == 1
            guard finishedEarlier || (task.isFinal && status.attempt == task.restarts) else { return (view, !task.isFinal) }
            view.state = status.exit == 0 ? "COMPLETED" : "FAILED"
            view.reason = status.exit == 0 ? "None" : "NonZeroExitCode"
            view.exitCode = status.exit
            view.signal = 0
            view.restarts = status.attempt
            return (view, true)
        }
    }

    /// Notes a cell finished outside `observe` (ingested before a restart).
    mutating func markFinished(_ index: Int) { finished.insert(index) }
}
