import Foundation

/// One task of a Slurm job array as `scontrol --oneliner show job` reports it.
public struct SlurmTask: Sendable, Equatable {
    /// The task's own job id (what `scontrol requeue` takes once it is split from the array).
    public var jobID: String
    public var arrayJobID: String?
    /// The array index; nil for a pending record that still stands for several tasks.
    public var taskID: Int?
    /// The pending range a not-yet-split record stands for (`0-3`, `1,5`).
    public var taskRange: String?
    public var state: String
    public var reason: String
    /// The exit status of the batch script, when it exited.
    public var exitCode: Int?
    /// The signal that ended it, 0 when none.
    public var signal: Int
    public var restarts: Int
    public var nodes: String

    /// The id that names this task alone to scontrol and scancel: `ARRAYJOB_INDEX`. The
    /// array's last task keeps the array's own job id, and `scontrol requeue` or `scancel`
    /// of that id acts on every task of the array (requeueing siblings still running).
    public var taskSpec: String {
        guard let arrayJobID, let taskID else { return jobID }
        return "\(arrayJobID)_\(taskID)"
    }

    /// States after which the task runs no more unless requeued.
    public var isFinal: Bool {
        ["COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY", "PREEMPTED", "SPECIAL_EXIT"].contains(state)
    }

    /// Ended through its host, not its own doing: the node went away, or it never launched.
    public var lostWithNode: Bool { ["NODE_FAIL", "BOOT_FAIL"].contains(state) || reason.contains("launch failed") }
}

/// Parsers of Slurm client output (tested on captured real output in SlurmParserTests).
public enum SlurmOutput {
    /// `scontrol --oneliner show job ID`: one `Key=Value Key=Value…` line per job record.
    public static func tasks(scontrol text: String) -> [SlurmTask] {
        text.split(separator: "\n").compactMap { line in
            let fields = fields(of: line)
            guard let jobID = fields["JobId"] else { return nil }
            let exit = fields["ExitCode"]?.split(separator: ":").map { Int($0) }
            let taskText = fields["ArrayTaskId"]
            return SlurmTask(
                jobID: jobID, arrayJobID: fields["ArrayJobId"], taskID: taskText.flatMap { Int($0) },
                taskRange: taskText.flatMap { Int($0) == nil ? $0 : nil },
                state: fields["JobState"] ?? "UNKNOWN", reason: fields["Reason"] ?? "None",
                exitCode: exit?.first ?? nil, signal: (exit?.count ?? 0) > 1 ? (exit?[1] ?? 0) : 0,
                restarts: Int(fields["Restarts"] ?? "") ?? 0, nodes: fields["NodeList"] ?? fields["BatchHost"] ?? "")
        }
    }

    /// `Key=Value` words; a word without `=` (a value with spaces) joins the previous value.
    static func fields(of line: Substring) -> [String: String] {
        var fields: [String: String] = [:]
        var last: String?
        for word in line.split(separator: " ", omittingEmptySubsequences: true) {
            if let equals = word.firstIndex(of: "="), word[..<equals].allSatisfy({ $0.isLetter || $0.isNumber || $0 == ":" || $0 == "/" }),
                !word[..<equals].isEmpty
            {
                let key = String(word[..<equals])
                // The first of a repeated key wins (e.g. `Reason` in a nested field).
                if fields[key] == nil { fields[key] = String(word[word.index(after: equals)...]) }
                last = key
            } else if let last {
                fields[last, default: ""] += " \(word)"
            }
        }
        return fields
    }

    /// `squeue --noheader --array --format=%i|%T|%r`: `(job id, state, reason)` per line.
    public static func queue(squeue text: String) -> [(id: String, state: String, reason: String)] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count >= 2, !parts[0].isEmpty else { return nil }
            return (parts[0], parts[1], parts.count > 2 ? parts[2] : "")
        }
    }

    /// `sbatch --parsable`: `JOBID` or `JOBID;CLUSTER`.
    public static func submittedJob(sbatch text: String) -> String? {
        let line = text.split(separator: "\n").last { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard let id = line?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces), !id.isEmpty, id.allSatisfy(\.isNumber) else { return nil }
        return id
    }
}
