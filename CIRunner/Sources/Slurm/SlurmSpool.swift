import Foundation
import Hypervisor
import Matrix

/// A Slurm run's spool folder, on a filesystem every node sees:
///
///     matrix.txt         the matrix file the tasks read (its path: relative repositories
///                        stay relative to it; a bundle of an edited matrix is refused at ingest)
///     builds.txt         build key per array index (line N+1 is index N)
///     cells.txt          cell id per cell index (line N+1 is cell N of the plan)
///     tasks.txt          the cell indices each cell task runs (line N+1 is array index N)
///     revisions.json     the commits the run's revisions named at submission (`--revisions`)
///     build.sh cell.sh   the task scripts (every value single-quoted)
///     logs/              Slurm's --output per task (build-N.txt, task-N.txt)
///     bundles/<attempt>/<cell id>/   each attempt's bundle (attempt = SLURM_RESTART_COUNT)
///     status/<cell index>.<attempt>  the exit status of that cell's `nestci cell run`
enum SlurmSpool {
    static let buildScript = "build.sh"
    static let cellScript = "cell.sh"
    static let revisionsFile = "revisions.json"
    static let tasksFile = "tasks.txt"

    static func jobName(_ kind: String, _ runID: String) -> String { "nestci-\(kind)-\(runID)" }

    /// Makes the folder and its index files; returns the matrix's path (absolute).
    static func prepare(_ spool: String, matrixPath: String, plan: Plan) throws -> String {
        for sub in ["logs", "bundles", "status"] {
            try FileManager.default.createDirectory(atPath: "\(spool)/\(sub)", withIntermediateDirectories: true)
        }
        let matrix = matrixPath
        try AtomicFile.write(Data("\(matrix)\n".utf8), to: "\(spool)/matrix.txt")
        try AtomicFile.write(Data(plan.builds.map { "\($0.key)\n" }.joined().utf8), to: "\(spool)/builds.txt")
        try AtomicFile.write(Data(plan.cells.map { "\($0.id)\n" }.joined().utf8), to: "\(spool)/cells.txt")
        return matrix
    }

    /// Resolves every (repository, revision) of the plan's builds once, in the shared
    /// cache's mirrors, and writes them to `revisions.json`; returns them. `pinned` (the
    /// run's own `--revisions`) are kept as given. A revision that does not resolve is
    /// left out: its tasks then fail on it as a local run's cells do.
    static func pinRevisions(_ plan: Plan, cache: String, spool: String, pinned: [ResolvedRevision]) async throws -> [ResolvedRevision] {
        // Failures dropped on purpose: the task reports the same SourceError in its cell.
        let pins = await RevisionPins.resolve(plan, store: cache, pinned: pinned).pins
        try RevisionPins.write(pins, to: "\(spool)/\(revisionsFile)")
        return pins
    }

    /// The two task scripts. `NESTCI_SUPERVISOR` is dropped: a task is not a child of the
    /// nestci that submitted it, and must outlive it (a restarted nestci resumes watching).
    static func writeScripts(_ spool: String, nestci: String, cache: String, runID: String, builderNoWorkarounds: Bool) throws {
        let q = ShellQuote.quote
        let noWorkarounds = builderNoWorkarounds ? " --no-workarounds" : ""
        let build = """
            #!/bin/sh
            # nestci build task of run \(runID) (generated; array index = line of builds.txt)
            unset NESTCI_SUPERVISOR
            key=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" \(q("\(spool)/builds.txt")))
            exec \(q(nestci)) build "$(cat \(q("\(spool)/matrix.txt")))" --only "$key" --cache \(q(cache)) --revisions \(q("\(spool)/\(revisionsFile)"))\(noWorkarounds)

            """
        // One task runs its cells in turn, in one `nestci cell run`, which writes each cell's
        // status once its bundle is in place. A cell with PASS/FAIL/SKIP (0/1) from an earlier
        // attempt is not run again when the task is requeued. When nestci exits by itself
        // with 64/65 (it refused the call or the matrix) or 75 before deciding a cell, that
        // cell gets the status here; a cell without one was cut short (killed, node lost).
        let status = q("\(spool)/status")
        let cell = """
            #!/bin/sh
            # nestci cell task of run \(runID) (generated; array index = line of tasks.txt)
            unset NESTCI_SUPERVISOR
            attempt=${SLURM_RESTART_COUNT:-0}
            set --
            indices=
            for index in $(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" \(q("\(spool)/\(tasksFile)"))); do
              finished=
              for previous in \(status)/"$index".*; do
                [ -f "$previous" ] || continue
                case $(cat "$previous") in 0|1) finished=yes ;; esac
              done
              [ -n "$finished" ] && continue
              indices="$indices $index"
              set -- "$@" --cell "$(sed -n "$((index + 1))p" \(q("\(spool)/cells.txt")))"
            done
            [ "$#" -gt 0 ] || exit 0
            \(q(nestci)) cell run "$(cat \(q("\(spool)/matrix.txt")))" "$@" --out \(q("\(spool)/bundles"))/"$attempt" --cache \(q(cache)) --run-id \(q(runID)) --retries 0 --revisions \(q("\(spool)/\(revisionsFile)")) --status-dir \(status) --attempt "$attempt"\(noWorkarounds)
            code=$?
            case $code in
              64|65|75)
                for index in $indices; do
                  status_file=\(status)/"$index.$attempt"
                  [ -f "$status_file" ] || { printf '%s\\n' "$code" > "$status_file.tmp" && mv "$status_file.tmp" "$status_file"; }
                done ;;
            esac
            exit "$code"

            """
        for (name, text) in [(buildScript, build), (cellScript, cell)] {
            try AtomicFile.write(Data(text.utf8), to: "\(spool)/\(name)")
            chmod("\(spool)/\(name)", 0o755)
        }
    }

    /// One cell job array: the constraint, time limit and build tasks its cells share, and
    /// its tasks (array index, the cell indices it runs in turn).
    struct CellGroup: Equatable {
        var constraint: String?
        var minutes: Int
        /// Indices into `plan.builds` its cells wait for.
        var builds: [Int]
        var tasks: [(index: Int, cells: [Int])]

        /// The group's cell indices, in plan order.
        var cells: [Int] { tasks.flatMap(\.cells) }

        static func == (lhs: CellGroup, rhs: CellGroup) -> Bool {
            lhs.constraint == rhs.constraint && lhs.minutes == rhs.minutes && lhs.builds == rhs.builds
                && lhs.tasks.map(\.index) == rhs.tasks.map(\.index) && lhs.tasks.map(\.cells) == rhs.tasks.map(\.cells)
        }
    }

    /// Cells grouped by what sbatch must set per job: constraint, time limit, and the
    /// build array's tasks they wait for, so a cell starts once its own builds are done, not
    /// once every build of the run is; each group's cells cut into tasks of
    /// `slurm.cellsPerTask`. Array indices count the tasks from 0 across the groups; a task's
    /// `--time` is its cells' own limits one after another, plus the margin once.
    static func groups(_ plan: Plan, slurm: SlurmOptions) -> [CellGroup] {
        var groups: [String: (constraint: String?, minutes: Int, builds: [Int], cells: [Int])] = [:]
        var order: [String] = []
        let buildIndex = Dictionary(plan.builds.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        for (index, cell) in plan.cells.enumerated() {
            let constraint = slurm.constraints[cell.backend]
            let minutes = timeMinutes(cell, plan: plan, margin: slurm.marginMinutes)
            let builds = Set(cell.levels.compactMap { $0.build.flatMap { buildIndex[$0.key] } }).sorted()
            let key = "\(constraint ?? "")|\(minutes)|\(builds.map(String.init).joined(separator: ","))"
            if groups[key] == nil { order.append(key) }
            groups[key, default: (constraint, minutes, builds, [])].cells.append(index)
        }
        let perTask = max(1, slurm.cellsPerTask)
        var nextTask = 0
        return order.map { key in
            let group = groups[key]!
            let tasks = stride(from: 0, to: group.cells.count, by: perTask).map { start in
                defer { nextTask += 1 }
                return (index: nextTask, cells: Array(group.cells[start..<min(start + perTask, group.cells.count)]))
            }
            let longest = tasks.map(\.cells.count).max() ?? 1
            let minutes = longest * (group.minutes - slurm.marginMinutes) + slurm.marginMinutes
            return CellGroup(constraint: group.constraint, minutes: minutes, builds: group.builds, tasks: tasks)
        }
    }

    /// Writes `tasks.txt`: the cell indices of array index N on line N+1.
    static func writeTasks(_ spool: String, groups: [CellGroup]) throws {
        var lines: [Int: String] = [:]
        for task in groups.flatMap(\.tasks) { lines[task.index] = task.cells.map(String.init).joined(separator: " ") }
        let text = (0..<(lines.keys.max().map { $0 + 1 } ?? 0)).map { "\(lines[$0] ?? "")\n" }.joined()
        try AtomicFile.write(Data(text.utf8), to: "\(spool)/\(tasksFile)")
    }

    /// The cells of each array index, from `tasks.txt`; a spool without it (submitted by a
    /// nestci before tasks.txt) ran cell N as array index N.
    static func taskCells(_ spool: String, cells: Int) -> [Int: [Int]] {
        guard let text = try? String(contentsOfFile: "\(spool)/\(tasksFile)", encoding: .utf8) else {
            return Dictionary(uniqueKeysWithValues: (0..<cells).map { ($0, [$0]) })
        }
        var tasks: [Int: [Int]] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let members = line.split(separator: " ").compactMap { Int($0) }.filter { (0..<cells).contains($0) }
            if !members.isEmpty { tasks[index] = members }
        }
        return tasks
    }

    /// `--dependency` for cells waiting for the build array `job`'s tasks `builds`: after
    /// any end (a failed build still gives its cells their BUILD-FAIL bundle).
    static func dependency(buildJob job: String?, builds: [Int]) -> [String] {
        guard let job, !builds.isEmpty else { return [] }
        return ["--dependency=afterany:" + builds.map { "\(job)_\($0)" }.joined(separator: ":")]
    }

    /// A task's `--time`: its boot timeout, its builds' timeouts (built there when the build
    /// task failed) and the margin, in whole minutes.
    static func timeMinutes(_ cell: Cell, plan: Plan, margin: Int) -> Int {
        let keys = Set(cell.levels.compactMap { $0.build?.key })
        let builds = plan.builds.filter { keys.contains($0.key) }.map(\.spec.timeoutSeconds).reduce(0, +)
        return (cell.bootTimeoutSeconds + builds + 59) / 60 + margin
    }

    /// `0-3,7,9-10` for sbatch --array.
    static func arraySpec(_ indices: [Int]) -> String {
        var parts: [String] = []
        var start: Int?
        var last = -2
        for index in indices.sorted() {
            if index == last + 1 { last = index; continue }
            if let start { parts.append(start == last ? "\(start)" : "\(start)-\(last)") }
            start = index
            last = index
        }
        if let start { parts.append(start == last ? "\(start)" : "\(start)-\(last)") }
        return parts.joined(separator: ",")
    }

    /// The exit statuses written per cell (by `nestci cell run --status-dir`, or the task
    /// script for a call nestci refused): the latest attempt per cell index.
    static func statuses(_ spool: String) -> [Int: (attempt: Int, exit: Int)] {
        var latest: [Int: (attempt: Int, exit: Int)] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "\(spool)/status")) ?? [] {
            let parts = name.split(separator: ".")
            guard parts.count == 2, let index = Int(parts[0]), let attempt = Int(parts[1]),
                let text = try? String(contentsOfFile: "\(spool)/status/\(name)", encoding: .utf8),
                let exit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
            else { continue }
            if (latest[index]?.attempt ?? -1) < attempt { latest[index] = (attempt, exit) }
        }
        return latest
    }

    /// The running nestci executable (what the tasks run unless told otherwise).
    static func thisExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
