import Foundation
import Matrix

/// Retention: removing old runs' artifact files while keeping what history needs.
///
/// Pruning a run removes every file of its cell folders except `result.json` (serial logs,
/// VMCS dumps, build logs, reproduce.sh, emulator logs) and keeps the run's own `run.json`,
/// `results.json` and `findings.json`, its cell rows and its run row, so `nestci runs`,
/// `show`, `report`, regressions and the dashboard's grid and history still work.
///
/// Crash safety: mark first, finish on the next call. In one transaction the run gets
/// `prune_started` (with the bytes it is about to free) and loses the artifact rows of the
/// files that will go; only then are the files removed, and `pruned` is set once they are
/// gone. So the index never points at a missing file, a run being pruned already reads as
/// pruned, and a run whose `prune_started` has no `pruned` (the process died between) is
/// finished first by the next ``prune(policy:now:)``.
extension ArtifactStore {
    /// Prunes the artifacts of runs older than the policy's days for their outcome, then,
    /// oldest first, of further runs while the runs not pruned hold more than `maxBytes`.
    ///
    /// Never pruned: the newest run of each matrix, the newest run of each matrix that is not
    /// running (what the next run's regressions compare against), and a run whose row says
    /// `running` (even if its writer died: a restarted service may resume it). Calling it
    /// again with the same `now` does nothing.
    @discardableResult
    public func prune(policy: RetentionPolicy, now: Date = Date()) throws -> PruneReport {
        var pruned: [PruneReport.Entry] = []
        for row in try database.query(
            "SELECT id, matrix, pruned_bytes FROM runs WHERE prune_started IS NOT NULL AND pruned IS NULL ORDER BY id")
        {
            let id = try row.string("id")
            try removeArtifactFiles(runID: id)
            try database.execute("UPDATE runs SET pruned = ? WHERE id = ?", [.real(now.timeIntervalSince1970), .text(id)])
            pruned.append(.init(runID: id, matrix: try row.string("matrix"), reason: .resumed, bytes: try row.int64("pruned_bytes")))
        }

        let failing = Outcome.allCases.filter { !$0.isAcceptable }.map(\.countColumn).joined(separator: " + ")
        let candidates = try database.query(
            "SELECT id, matrix, started, status, (\(failing)) AS failing FROM runs WHERE prune_started IS NULL ORDER BY id")
        var protected = Set<String>()
        for row in try database.query("SELECT MAX(id) AS id FROM runs GROUP BY matrix") + database.query(
            "SELECT MAX(id) AS id FROM runs WHERE status != 'running' GROUP BY matrix")
        {
            protected.insert(try row.string("id"))
        }
        var bytes: [String: Int64] = [:]
        for row in try database.query("SELECT run_id, SUM(bytes) AS bytes FROM artifacts GROUP BY run_id") {
            bytes[try row.string("run_id")] = try row.int64("bytes")
        }

        var remaining = Set(candidates.compactMap { try? $0.string("id") })
        var eligible: [(id: String, matrix: String)] = []
        for row in candidates {
            let id = try row.string("id"), matrix = try row.string("matrix")
            guard !protected.contains(id), try row.string("status") != RunStatus.running.rawValue else { continue }
            let age = now.timeIntervalSince(Date(timeIntervalSince1970: try row.double("started")))
            if age > policy.maximumAge(allAcceptable: try row.int64("failing") == 0) {
                pruned.append(.init(runID: id, matrix: matrix, reason: .age, bytes: try pruneRun(id, now: now)))
                remaining.remove(id)
            } else {
                eligible.append((id, matrix))
            }
        }

        // Attempt folders (`attempt-N/`: each boot's serial capture, emulator config and log)
        // are not indexed but take disk like the rest.
        for id in remaining { bytes[id, default: 0] += Self.attemptBytes(inRun: layout.run(id)) }
        var total = remaining.reduce(Int64(0)) { $0 + (bytes[$1] ?? 0) }
        if policy.maxBytes > 0 {
            for run in eligible where total > policy.maxBytes {
                pruned.append(.init(runID: run.id, matrix: run.matrix, reason: .size, bytes: try pruneRun(run.id, now: now)))
                total -= bytes[run.id] ?? 0
            }
        }
        return PruneReport(pruned: pruned, remainingBytes: total, overCap: policy.maxBytes > 0 && total > policy.maxBytes)
    }

    /// That a run's artifacts were pruned (or are being pruned), or nil.
    public func pruning(runID: String) throws -> RunPruning? {
        try database.query(
            "SELECT id, prune_started, pruned, pruned_bytes FROM runs WHERE id = ? AND prune_started IS NOT NULL", [.text(runID)]
        ).first.map(Self.pruning)
    }

    /// True when retention removed (or is removing) the run's artifacts.
    public func isPruned(_ runID: String) throws -> Bool { try pruning(runID: runID) != nil }

    /// Every pruned run, by id: one query for the dashboard.
    public func prunedRuns() throws -> [String: RunPruning] {
        var result: [String: RunPruning] = [:]
        for row in try database.query("SELECT id, prune_started, pruned, pruned_bytes FROM runs WHERE prune_started IS NOT NULL") {
            let pruning = try Self.pruning(row)
            result[pruning.runID] = pruning
        }
        return result
    }

    static func pruning(_ row: Row) throws -> RunPruning {
        RunPruning(
            runID: try row.string("id"), date: Date(timeIntervalSince1970: try row.double("prune_started")),
            bytes: try row.int64("pruned_bytes"), complete: !(try row.isNull("pruned")))
    }

    // MARK: - Steps

    /// Marks the run, drops the rows of the files about to go, removes them, marks it done.
    /// Returns the bytes freed.
    private func pruneRun(_ id: String, now: Date) throws -> Int64 {
        let bytes = try markPruning(id, now: now)
        try removeArtifactFiles(runID: id)
        try database.execute("UPDATE runs SET pruned = ? WHERE id = ?", [.real(now.timeIntervalSince1970), .text(id)])
        return bytes
    }

    /// The first step, in one transaction: the run reads as pruned from here on, and the
    /// index stops pointing at the files about to go. Returns their bytes.
    func markPruning(_ id: String, now: Date) throws -> Int64 {
        let bytes = Self.artifactFiles(inRun: layout.run(id)).reduce(Int64(0)) { $0 + $1.bytes }
        try database.transaction {
            try database.execute(
                "UPDATE runs SET prune_started = ?, pruned_bytes = ? WHERE id = ? AND prune_started IS NULL",
                [.real(now.timeIntervalSince1970), .integer(bytes), .text(id)])
            try database.execute(
                "DELETE FROM artifacts WHERE run_id = ? AND cell_id IS NOT NULL AND kind != ?",
                [.text(id), .text(StoredArtifact.kind(ofFileNamed: RunLayout.resultFile))])
        }
        return bytes
    }

    private func removeArtifactFiles(runID: String) throws {
        let files = Self.artifactFiles(inRun: layout.run(runID))
        for file in files where unlink(file.path) != 0 && errno != ENOENT {
            throw StoreError(
                .io,
                "cannot remove \(file.path) while pruning run \(runID): \(String(cString: strerror(errno))) "
                    + "(fix the permissions of \(root); the next prune finishes the run)")
        }
        // The emptied attempt folders go too, deepest first (a folder still holding
        // something of someone else's stays).
        for folder in Set(files.map { ($0.path as NSString).deletingLastPathComponent }).sorted(by: { $0.count > $1.count })
        where Self.isAttemptFolder(folder) {
            rmdir(folder)
        }
    }

    /// A folder below a cell folder (`<run>/<cell>/attempt-N`), never the cell folder itself.
    private static func isAttemptFolder(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        guard let runs = parts.lastIndex(of: "runs") else { return false }
        return parts.count - runs > 3
    }

    /// Bytes of the regular files below the run's cell folders' subfolders (attempt folders)
    /// that are not also linked from elsewhere (a serial capture hard-linked as the cell's
    /// `serial.log` is counted there).
    static func attemptBytes(inRun folder: String) -> Int64 {
        artifactFiles(inRun: folder).reduce(Int64(0)) { total, file in
            guard isAttemptFolder((file.path as NSString).deletingLastPathComponent), file.links == 1 else { return total }
            return total + file.bytes
        }
    }

    /// Files retention removes: everything in the run's cell folders but `result.json`,
    /// including what is in their attempt folders (any depth), hidden leftovers of interrupted
    /// atomic writes and symbolic links (the link goes, never its target). Folders that are
    /// links are not entered. `bytes` count each inode once per run (hard links share it).
    static func artifactFiles(inRun folder: String) -> [(path: String, bytes: Int64, links: Int)] {
        let manager = FileManager.default
        var files: [(path: String, bytes: Int64, links: Int)] = []
        var seen = Set<[UInt64]>()
        func walk(_ directory: String, top: Bool) {
            for name in (try? manager.contentsOfDirectory(atPath: directory)) ?? [] where !(top && name == RunLayout.resultFile) {
                let path = "\(directory)/\(name)"
                var info = stat()
                guard lstat(path, &info) == 0 else { continue }
                if (info.st_mode & S_IFMT) == S_IFDIR {
                    walk(path, top: false)
                    continue
                }
                let regular = (info.st_mode & S_IFMT) == S_IFREG
                let first = seen.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted
                files.append((path, regular && first ? Int64(info.st_size) : 0, Int(info.st_nlink)))
            }
        }
        for cell in (try? manager.contentsOfDirectory(atPath: folder)) ?? [] where StoreFiles.isDirectory("\(folder)/\(cell)") {
            walk("\(folder)/\(cell)", top: true)
        }
        return files
    }
}
