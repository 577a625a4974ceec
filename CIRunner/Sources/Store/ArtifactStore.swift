import Foundation
import Hypervisor
import Matrix

/// The artifact store: run folders laid out as ``RunLayout`` says, indexed by an SQLite
/// database (`nestci.db`, WAL) of runs, cells, builds and artifacts.
///
/// The scheduler calls, in this order:
///
///     let store = try ArtifactStore(root: storePath)
///     let id = ArtifactStore.newRunID()
///     try await store.beginRun(id: id, matrix: …, matrixPath: …, trigger: …, hostJSON: …, cellIDs: …)
///     // per build:  try await store.recordBuild(record)
///     // per cell, after its files are in <run>/<cell>/ (serial log capped):
///     try await store.recordCell(runID: id, result: result)
///     let findings = try await store.finishRun(id: id, results: results)
///
/// Crash safety: every file is written atomically (temporary file + rename) before the rows
/// that point at it commit, and each cell is indexed in one transaction. A process killed at
/// any moment leaves a store whose indexed artifacts all exist, whose cell rows all have their
/// `result.json`, and whose run reads as interrupted (``interruptedRuns()``,
/// ``markInterrupted(_:)``) with every cell recorded before the kill intact.
///
/// One connection per store value; other processes open their own (WAL lets them read while
/// this one writes).
///
/// The actor runs on its own serial Dispatch queue (``DispatchQueueExecutor``), not on the
/// cooperative pool: hashing, fsync and SQLite lock waits block only that queue.
public actor ArtifactStore {
    /// The store folder (absolute).
    public nonisolated let root: String
    public nonisolated let layout: RunLayout
    let database: Database
    private nonisolated let executor = DispatchQueueExecutor(label: "nestci.store")

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// Opens the store at `root`, creating the folder and database when missing and applying
    /// schema migrations.
    public init(root: String) throws {
        let root = URL(fileURLWithPath: root).standardizedFileURL.path
        let layout = RunLayout(store: root)
        do {
            try FileManager.default.createDirectory(atPath: layout.runs, withIntermediateDirectories: true)
        } catch {
            throw StoreError(.io, "cannot create the store folder \(layout.runs): \(error.localizedDescription) (pick a writable --store DIR)")
        }
        let database = try Database(path: layout.database)
        try database.migrate(StoreSchema.migrations)
        self.root = root
        self.layout = layout
        self.database = database
    }

    /// Opens a store that must already exist (for commands that only read).
    public static func openExisting(root: String) throws -> ArtifactStore {
        let path = URL(fileURLWithPath: root).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: RunLayout(store: path).database) else {
            throw StoreError(.notFound, "no nestci store at \(path) (no nestci.db there); pass --store DIR or set NESTCI_STORE to the folder `nestci run` used")
        }
        return try ArtifactStore(root: path)
    }

    /// A new run id, `YYYYMMDD-HHMMSS-xxxx`: UTC time then 4 random hex digits, so ids sort by
    /// start time and two runs started in the same second do not collide.
    public static func newRunID(now: Date = Date()) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: now)
        return String(
            format: "%04d%02d%02d-%02d%02d%02d-%04x", c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!,
            UInt16.random(in: 0...UInt16.max))
    }

    // MARK: - Writing

    /// Starts a run: writes `<run>/run.json` atomically, then inserts the run as `running`.
    /// `hostJSON` is the host fingerprint as JSON text (kept verbatim).
    public func beginRun(
        id: String, matrix: String, matrixPath: String, trigger: String, hostJSON: String, cellIDs: [String],
        started: Date = Date()
    ) throws {
        try Self.checkID(id, what: "run id")
        if try database.query("SELECT 1 FROM runs WHERE id = ?", [.text(id)]).first != nil {
            throw StoreError(.exists, "run \(id) already exists in \(root); make a new id with ArtifactStore.newRunID()")
        }
        let host = (try? JSONSerialization.jsonObject(with: Data(hostJSON.utf8), options: [.fragmentsAllowed])) ?? hostJSON
        let manifest: [String: Any] = [
            "id": id, "matrix": matrix, "matrixPath": matrixPath, "trigger": trigger,
            "started": ISO8601DateFormatter().string(from: started), "host": host, "cells": cellIDs,
            "writer": ["pid": Int(getpid()), "host": Self.hostName],
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try AtomicFile.write(data, to: "\(layout.run(id))/\(RunLayout.runFile)")
        try database.execute(
            """
            INSERT INTO runs(id, matrix, matrix_path, trigger, started, status, writer_pid, writer_host, host_json, planned_cells)
            VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)
            """,
            [.text(id), .text(matrix), .text(matrixPath), .text(trigger), .real(started.timeIntervalSince1970),
             SQLValue(Int(getpid())), .text(Self.hostName), .text(hostJSON), SQLValue(cellIDs.count)])
    }

    /// Indexes one finished cell: (re)writes its `result.json` atomically from `result`, then in
    /// one transaction replaces its row and its artifact rows (every regular file in
    /// `<run>/<cell>/`, with size and SHA-256). Call it after the cell's other files are in
    /// place. Recording a cell again replaces it (a re-run), never duplicates it.
    public func recordCell(runID: String, result: CellResult) throws {
        try Self.checkID(runID, what: "run id")
        try Self.checkID(result.cellID, what: "cell id")
        guard try database.query("SELECT 1 FROM runs WHERE id = ?", [.text(runID)]).first != nil else {
            throw StoreError(.notFound, "cannot record cell \(result.cellID): run \(runID) is not in \(root) (call beginRun first)")
        }
        let folder = layout.cell(runID, result.cellID)
        try AtomicFile.writeJSON(result, to: "\(folder)/\(RunLayout.resultFile)")
        let artifacts = try scanArtifacts(runID: runID, cellID: result.cellID)
        try database.transaction {
            try database.execute("DELETE FROM artifacts WHERE run_id = ? AND cell_id = ?", [.text(runID), .text(result.cellID)])
            try database.execute("DELETE FROM cells WHERE run_id = ? AND cell_id = ?", [.text(runID), .text(result.cellID)])
            try database.execute(
                """
                INSERT INTO cells(run_id, cell_id, chain, values_json, outcome, rule, reason, line, seconds,
                                  commits_json, build_keys_json, result_json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [.text(runID), .text(result.cellID), .text(result.chain), .text(try StoreFiles.jsonText(result.values)),
                 .text(result.outcome.rawValue), .text(result.rule), .text(result.reason),
                 result.line.map(SQLValue.init) ?? .null, result.secondsToVerdict.map(SQLValue.real) ?? .null,
                 .text(try StoreFiles.jsonText(result.commits)), .text(try StoreFiles.jsonText(result.buildKeys)),
                 .text(try StoreFiles.jsonText(result))])
            try insert(artifacts)
            try refreshCounts(runID)
        }
    }

    /// Indexes a build (by cache key; recording it again replaces the row).
    public func recordBuild(_ record: BuildRecord) throws {
        // The key's link, not the object it points at now: a rebuild replaces the object.
        let folder = "\(root)/builds/\(record.cacheKey)"
        var recordPath = "\(folder)/record.json"
        if recordPath.hasPrefix(root + "/") { recordPath.removeFirst(root.count + 1) }
        try database.execute(
            """
            INSERT OR REPLACE INTO builds(cache_key, spec_key, component, commit_id, opt, bits, status, record_path, recorded)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [.text(record.cacheKey), .text(record.specKey), .text(record.component), .text(record.commit),
             .text(record.opt.rawValue), .text(record.bits.rawValue), .text(record.status.rawValue), .text(recordPath),
             .real(Date().timeIntervalSince1970)])
    }

    /// Ends a run: records any cell of `results` not recorded yet, computes the findings
    /// (against the previous run of the same matrix), writes `findings.json` and
    /// `results.json` atomically, and then marks the run finished in one transaction.
    ///
    /// `knownIssues` are the matrix's (expired entries are dropped here, with a warning in
    /// `findings.json`); a finding matching one is marked known. `commitURLs` are kept for the
    /// dashboard's commit links.
    @discardableResult
    /// `extraFindings` (the run's performance findings, which need re-boots) come last.
    public func finishRun(
        id: String, results: RunResults, extraFindings: [Finding] = [], knownIssues: [KnownIssue] = [], commitURLs: [String: String] = [:]
    ) throws -> [Finding] {
        guard let summary = try run(id) else {
            throw StoreError(.notFound, "cannot finish run \(id): it is not in \(root) (call beginRun first)")
        }
        let recorded = Set(try database.query("SELECT cell_id FROM cells WHERE run_id = ?", [.text(id)]).map { try $0.string("cell_id") })
        for cell in results.cells where !recorded.contains(cell.cellID) {
            try recordCell(runID: id, result: cell)
        }
        let previous = try previousRun(matrix: summary.matrix, before: id)
        let analysis = FindingsAnalyzer(
            runID: id, cells: results.cells, previousRunID: previous?.id,
            previousCells: try previous.map { try cells(runID: $0.id) } ?? [],
            dumps: vmcsLoader())
        let known = KnownIssue.active(knownIssues, on: results.finished)
        let findings = FindingsAnalyzer.markKnown(analysis.findings(), cells: results.cells, runID: id, issues: known.issues) + extraFindings
        var report = FindingsReport(runID: id, matrix: summary.matrix, previousRunID: previous?.id, findings: findings)
        report.warnings = known.warnings.isEmpty ? nil : known.warnings
        report.commitURLs = commitURLs.isEmpty ? nil : commitURLs
        try AtomicFile.writeJSON(report, to: "\(layout.run(id))/\(RunLayout.findingsFile)")
        try AtomicFile.writeJSON(results, to: "\(layout.run(id))/\(RunLayout.resultsFile)")
        let runFiles = try scanArtifacts(runID: id, cellID: nil)
        try database.transaction {
            try database.execute(
                "UPDATE runs SET status = 'finished', finished = ?, commits_json = ?, n_findings = ? WHERE id = ?",
                [.real(results.finished.timeIntervalSince1970), .text(try StoreFiles.jsonText(Self.commits(of: results.cells))),
                 SQLValue(findings.count), .text(id)])
            try database.execute("DELETE FROM artifacts WHERE run_id = ? AND cell_id IS NULL", [.text(id)])
            try insert(runFiles)
            try refreshCounts(id)
        }
        return findings
    }

    /// Runs left `running` by a process that is gone (same host, pid no longer alive): what a
    /// restarted scheduler should pass to ``markInterrupted(_:)``. Their recorded cells are intact.
    /// Investigations' runs (``InvestigationRun``) are not among them: only their
    /// investigation, asked again, takes one up.
    public func interruptedRuns() throws -> [RunSummary] {
        try nightlyRunsStoredRunning().filter { $0.status == .interrupted }
    }

    /// Runs whose row says `running`, investigations' own runs aside, newest first: live
    /// or interrupted, as ``RunSummary/status`` tells from their writer.
    func nightlyRunsStoredRunning() throws -> [RunSummary] {
        try database.query("\(Self.summarySelect) WHERE status = 'running' AND \(InvestigationRun.notInvestigationSQL) ORDER BY id DESC")
            .map(summary)
    }

    /// Marks a run interrupted: writes `results.json` from the cells recorded so far (so fetch
    /// and report work on it) and sets the status. Findings are left out: the run is incomplete.
    ///
    /// - Throws: `inUse` for an investigation's run another live process is writing.
    public func markInterrupted(_ id: String) throws {
        guard let summary = try run(id) else { throw StoreError(.notFound, "no run \(id) in \(root); `nestci runs` lists them") }
        if InvestigationRun.isInvestigation(trigger: summary.trigger), let writer = try otherLiveWriter(id) {
            throw StoreError(.inUse, "run \(id) holds the steps of \(summary.trigger), which \(writer) is running: it is not interrupted")
        }
        let recorded = try cells(runID: id)
        let now = Date()
        let results = RunResults(runID: id, matrix: summary.matrix, started: summary.started, finished: now, cells: recorded)
        try AtomicFile.writeJSON(results, to: "\(layout.run(id))/\(RunLayout.resultsFile)")
        let runFiles = try scanArtifacts(runID: id, cellID: nil)
        try database.transaction {
            try database.execute(
                "UPDATE runs SET status = 'interrupted', finished = ?, commits_json = ? WHERE id = ?",
                [.real(now.timeIntervalSince1970), .text(try StoreFiles.jsonText(Self.commits(of: recorded))), .text(id)])
            try database.execute("DELETE FROM artifacts WHERE run_id = ? AND cell_id IS NULL", [.text(id)])
            try insert(runFiles)
        }
    }

    // MARK: - Helpers

    static func checkID(_ id: String, what: String) throws {
        guard StoreFiles.isSafeComponent(id) else {
            throw StoreError(.invalidID, "\(what) \"\(id)\" cannot name a folder in the store (use letters, digits, '.', '_' and '-', not starting with '.')")
        }
    }

    static let hostName: String = {
        var buffer = [UInt8](repeating: 0, count: 256)
        buffer.withUnsafeMutableBufferPointer { _ = gethostname(UnsafeMutableRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), 255) }
        return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    }()

    /// Commits seen per component across cells, sorted: `{"minivisor": ["1a2b…", "3c4d…"]}`.
    static func commits(of cells: [CellResult]) -> [String: [String]] {
        var seen: [String: Set<String>] = [:]
        for cell in cells { for (component, commit) in cell.commits { seen[component, default: []].insert(commit) } }
        return seen.mapValues { $0.sorted() }
    }

    /// The regular files of a cell folder (or the run folder's own files when `cellID` is nil).
    func scanArtifacts(runID: String, cellID: String?) throws -> [StoredArtifact] {
        let folder = cellID.map { layout.cell(runID, $0) } ?? layout.run(runID)
        return try StoreFiles.regularFiles(in: folder).map { name in
            let (bytes, sha256) = try StoreFiles.digest("\(folder)/\(name)")
            return StoredArtifact(
                runID: runID, cellID: cellID, kind: StoredArtifact.kind(ofFileNamed: name),
                path: cellID.map { "\($0)/\(name)" } ?? name, bytes: bytes, sha256: sha256)
        }
    }

    func insert(_ artifacts: [StoredArtifact]) throws {
        for artifact in artifacts {
            try database.execute(
                "INSERT OR REPLACE INTO artifacts(run_id, cell_id, kind, path, bytes, sha256) VALUES (?, ?, ?, ?, ?, ?)",
                [.text(artifact.runID), SQLValue(artifact.cellID), .text(artifact.kind), .text(artifact.path),
                 SQLValue(artifact.bytes), .text(artifact.sha256)])
        }
    }

    /// Recounts a run's cells per outcome into its row (cheap: one indexed scan of its cells).
    func refreshCounts(_ runID: String) throws {
        let assignments = Outcome.allCases.map {
            "\($0.countColumn) = (SELECT COUNT(*) FROM cells WHERE run_id = ?1 AND outcome = '\($0.rawValue)')"
        }
        try database.execute("UPDATE runs SET \(assignments.joined(separator: ", ")) WHERE id = ?1", [.text(runID)])
    }

    /// Reads `<run>/<cell>/vmcs.json`, or parses the serial log when there is no vmcs.json.
    nonisolated func vmcsLoader() -> @Sendable (String, String) -> VMCSDumpSet? {
        let layout = self.layout
        return { runID, cellID in
            let folder = layout.cell(runID, cellID)
            let json = "\(folder)/\(RunLayout.vmcsFile)"
            if StoreFiles.isRegularFile(json), let set = try? VMCSDumpSet(contentsOf: URL(fileURLWithPath: json)) { return set }
            let serial = "\(folder)/\(RunLayout.serialLog)"
            if StoreFiles.isRegularFile(serial) { return try? VMCSDumpParser.parse(contentsOf: serial) }
            return nil
        }
    }
}

extension ArtifactStore {
    /// Takes over an interrupted run in this process (the service resuming after a crash):
    /// it is `running` again with this process as its writer; its recorded cells stay.
    ///
    /// - Throws: `inUse` for an investigation's run (bisect/triage steps): only its
    ///   investigation resumes it (``resumeInvestigationRun(_:)``), never as a matrix's run.
    public func resumeRun(_ id: String) throws -> [CellResult] {
        guard let summary = try run(id) else { throw StoreError(.notFound, "no run \(id) in \(root); `nestci runs` lists them") }
        if InvestigationRun.isInvestigation(trigger: summary.trigger) {
            let command = summary.trigger.hasPrefix("triage:") ? "nestci triage" : "nestci bisect"
            throw StoreError(.inUse, "run \(id) holds the steps of \(summary.trigger): `\(command)` of its cell resumes it, not a matrix run")
        }
        return try takeOver(id)
    }

    /// Takes over an investigation's run (``InvestigationRun/open(store:kind:id:matrix:matrixPath:hostJSON:)``).
    ///
    /// - Throws: `inUse` while another live process is writing it (the same bisect or triage
    ///   asked twice at once): one process runs an investigation.
    public func resumeInvestigationRun(_ id: String) throws -> [CellResult] {
        guard let summary = try run(id) else { throw StoreError(.notFound, "no run \(id) in \(root); `nestci runs --all` lists them") }
        if let writer = try otherLiveWriter(id) {
            throw StoreError(.inUse, "\(summary.trigger) is already running in \(writer) (its steps are run \(id)): wait for it, or stop it first")
        }
        return try takeOver(id)
    }

    /// `pid N on HOST` when run `id` is stored `running` and its writer is another process
    /// that may be alive (a dead writer's run reads as interrupted).
    func otherLiveWriter(_ id: String) throws -> String? {
        guard let row = try database.query("SELECT status, writer_pid, writer_host FROM runs WHERE id = ?", [.text(id)]).first,
            try row.string("status") == RunStatus.running.rawValue, let pid = row["writer_pid"]?.int64
        else { return nil }
        return Self.otherLiveWriter(pid: pid, host: row["writer_host"]?.string)
    }

    /// `pid N on HOST` when that writer is another process that may be alive, else nil.
    static func otherLiveWriter(pid: Int64, host: String?) -> String? {
        if pid == Int64(getpid()) && host == hostName { return nil }
        if isDead(pid: Int32(truncatingIfNeeded: pid), host: host) { return nil }
        return "pid \(pid) on \(host ?? "an unknown host")"
    }

    private func takeOver(_ id: String) throws -> [CellResult] {
        try database.execute(
            "UPDATE runs SET status = 'running', finished = NULL, writer_pid = ?, writer_host = ? WHERE id = ?",
            [SQLValue(Int(getpid())), .text(Self.hostName), .text(id)])
        return try cells(runID: id)
    }
}
