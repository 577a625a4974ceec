import Foundation
import Matrix

/// Writes the dashboard: a static site of HTML and JSON that works from `file://` and
/// behind any web server (relative links only, no JavaScript).
///
///     index.html, index.json            runs, newest first
///     style.css
///     runs/<run>/index.html, .json      the matrix as a grid, findings on top
///     runs/<run>/<cell>/index.html, .json   verdict, serial tail, VMCS dumps, history
///     runs/<run>/<cell>/serial.log, vmcs.json, reproduce.sh, build-<name>.log
///
/// Every file is written atomically (a reader or a crash sees the old page or the new).
/// Folders of runs no longer in the model are removed; a run whose artifacts were pruned
/// keeps its pages, without artifact files or links.
public struct Dashboard: Sendable {
    /// The dashboard folder.
    public var folder: String
    /// Shown in the page titles and the index heading.
    public var title: String
    public var logger: Logger

    public init(folder: String, title: String = "nestci", logger: Logger = .discarding) {
        self.folder = folder
        self.title = title
        self.logger = logger
    }

    /// Lines of serial log shown on a cell page.
    public static let tailLines = 60

    /// Writes every page for `runs` (any order; shown newest first). `history` gives each
    /// cell's outcomes across runs of its matrix, keyed by ``DashboardCellHistory/key(matrix:cellID:)``;
    /// by default it is derived from `runs`.
    ///
    /// `investigations` are runs holding bisect or triage steps: their pages are written (the
    /// steps table links them) but they are in no index, grid or history.
    public func write(runs: [DashboardRun], history: [String: DashboardCellHistory]? = nil, investigations: [DashboardRun] = []) throws {
        let runs = runs.sorted { $0.started > $1.started }
        let history = history ?? DashboardCellHistory.derived(from: runs)
        let published = Set((runs + investigations).map { Self.folderName($0.id) })
        for run in investigations { try writeRun(run, history: [:], published: published) }
        try write(DashboardStyle.css, to: "style.css")
        for run in runs {
            try writeRun(run, history: history, published: published)
        }
        try writeIndex(runs)
        removeStaleRuns(keeping: published)
        logger.info("dashboard written", ["dashboard.folder": folder, "runs": "\(runs.count)"])
    }

    // MARK: Layout

    func path(_ relative: String) -> String { URL(fileURLWithPath: folder).appendingPathComponent(relative).path }

    /// A run id or cell id as a folder name: anything outside `[A-Za-z0-9._-]` becomes `_`,
    /// so an odd id can never climb out of `runs/`.
    static func folderName(_ id: String) -> String {
        // Store ids are already safe; checking bytes keeps a publish of 600 cells from
        // spending its time on Character-by-Character copies.
        let safeByte: (UInt8) -> Bool = { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x5f || byte == 0x2e
        }
        if !id.isEmpty, id.utf8.allSatisfy(safeByte), !id.utf8.allSatisfy({ $0 == 0x2e }) { return id }
        let safe = String(id.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" })
        return safe.isEmpty || safe.allSatisfy({ $0 == "." }) ? "_" + safe : safe
    }

    static func runFolder(_ runID: String) -> String { "runs/\(folderName(runID))" }
    static func cellFolder(_ runID: String, _ cellID: String) -> String { "\(runFolder(runID))/\(folderName(cellID))" }

    // MARK: Files

    /// Puts an evidence file into the dashboard: a hard link when the store is on the same
    /// file system (no second copy of a large log), a copy otherwise. Skipped when the
    /// target already has the same size (evidence files do not change once written).
    func place(_ source: String, at relative: String) -> Bool {
        let target = path(relative)
        let manager = FileManager.default
        // stat(2) directly: a publish checks every evidence file of every cell, and
        // FileManager's attribute dictionaries were a quarter of its time.
        var sourceInfo = stat(), targetInfo = stat()
        guard stat(source, &sourceInfo) == 0 else {
            logger.warning("evidence file missing, not linked from the dashboard", ["file": source])
            return false
        }
        if stat(target, &targetInfo) == 0, targetInfo.st_size == sourceInfo.st_size { return true }
        do {
            try manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let temporary = target + ".tmp-\(getpid())"
            try? manager.removeItem(atPath: temporary)
            if link(source, temporary) != 0 { try manager.copyItem(atPath: source, toPath: temporary) }
            guard rename(temporary, target) == 0 else {
                try? manager.removeItem(atPath: temporary)
                return false
            }
            return true
        } catch {
            logger.warning("cannot copy evidence into the dashboard: \(error)", ["file": source])
            return false
        }
    }

    /// Removes the artifact files of a pruned cell that an earlier write placed.
    func removeArtifacts(in cellFolder: String) {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: path(cellFolder))) ?? [] where !name.hasPrefix("index.") {
            try? manager.removeItem(atPath: path("\(cellFolder)/\(name)"))
        }
    }

    private func removeStaleRuns(keeping published: Set<String>) {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: path("runs"))) ?? [] where !published.contains(name) {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path("runs/\(name)"), isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            do {
                try manager.removeItem(atPath: path("runs/\(name)"))
                logger.info("dashboard: removed a run no longer in the store", ["run.id": name])
            } catch {
                logger.warning("dashboard: cannot remove stale run folder: \(error)", ["run.id": name])
            }
        }
    }

    /// Writes atomically, but only when the content changed: a regeneration after each run
    /// rewrites few pages, and each atomic write costs an fsync.
    ///
    /// Temporary file and rename, without `fsync`: pages are derived data, and a page a power
    /// loss leaves empty differs from its content, so the next publish rewrites it. An fsync
    /// per page made a publish that touches every cell page's history (600 pages) a second
    /// slower.
    func write(_ data: Data, to relative: String) throws {
        let target = path(relative)
        if let existing = FileManager.default.contents(atPath: target), existing == data { return }
        let folder = (target as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = "\(folder)/.\((target as NSString).lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw DashboardError(.io, "cannot write \(temporary) (is the disk full, or the dashboard folder read-only?)")
        }
        guard rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw DashboardError(.io, "cannot move \(temporary) to \(target): \(reason) (check the dashboard folder's permissions)")
        }
    }

    func write(_ text: String, to relative: String) throws { try write(Data(text.utf8), to: relative) }

    static func jsonEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
