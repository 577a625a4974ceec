import Foundation
import Hypervisor

/// `nestci fetch RUN[/CELL]`: copies a run's (or one cell's) evidence out of the store, or
/// packs it into one .tar.gz to attach to a bug report.
enum FetchCommand {
    static let spec = CommandSpec(
        name: "fetch", summary: "copy a run's or a cell's evidence (logs, VMCS dumps, reproduce.sh) out of the store",
        discussion: """
            Copies into ./nestci-fetch/RUN[/CELL] (or --to DIR) keeping the store's layout: CELL/serial.log,
            CELL/vmcs.json, CELL/reproduce.sh, build logs, and for a whole run run.json, results.json and
            findings.json. With --bundle, writes one RUN[-CELL].tar.gz into ./nestci-fetch (or --to DIR)
            instead. Only regular files inside the store are copied; symbolic links are skipped.
            """,
        arguments: [.init("RUN[/CELL]", help: "a run id from `nestci runs`, or RUN/CELL from `nestci show RUN`")],
        options: [
            CommonOptions.store,
            .init("failed", help: "only cells that failed (FAIL, TIMEOUT, BUILD-FAIL, FLAKY)"),
            .init("to", value: "DIR", help: "where to put the files (or the bundle)"),
            .init("bundle", help: "write one .tar.gz instead of a folder"),
        ])

    static let entry = CommandEntry(spec) { arguments, console in
        let reference = try StoreReference.parse(arguments.positionals[0])
        guard reference.dumpNumber == nil else {
            throw UsageError("fetch takes RUN or RUN/CELL; #n selects a VMCS dump only in `nestci vmcs`", command: spec)
        }
        let store = try ArtifactStore.openExisting(root: CommonOptions.storePath(arguments))
        _ = try await store.folder(for: reference)
        if let pruning = try await store.pruning(runID: reference.runID) {
            throw UserError(
                "artifacts pruned on \(StoreText.date(pruning.date)): retention removed the serial logs, VMCS dumps, build logs "
                    + "and reproduce.sh of run \(reference.runID) (\(StoreText.bytes(Int(pruning.bytes)))); its results remain: "
                    + "`nestci show \(reference.runID)`, `nestci report \(reference.runID)`")
        }
        let files = try await selectFiles(store: store, reference: reference, failedOnly: arguments.flag("failed"))
        let name = reference.runID + (reference.cellID.map { "-\($0)" } ?? "") + (arguments.flag("failed") ? "-failed" : "")
        guard !files.isEmpty else {
            console.print("\(reference) has no \(arguments.flag("failed") ? "failed cells" : "files") to fetch; nothing written")
            return .success
        }
        let totalBytes = files.reduce(0) { $0 + $1.bytes }
        if arguments.flag("bundle") {
            let folder = URL(fileURLWithPath: arguments.value("to") ?? "nestci-fetch").standardizedFileURL.path
            let bundle = "\(folder)/\(name).tar.gz"
            try await writeBundle(files, runsFolder: store.layout.runs, to: bundle)
            console.print("bundled \(files.count) file\(files.count == 1 ? "" : "s") (\(StoreText.bytes(totalBytes))) of \(reference) into \(bundle)")
            for file in files { console.print("  \(file.runRelative)  \(StoreText.bytes(file.bytes))") }
            return .success
        }
        let defaultFolder = "nestci-fetch/\(reference.runID)" + (reference.cellID.map { "/\($0)" } ?? "")
        let destination = URL(fileURLWithPath: arguments.value("to") ?? defaultFolder).standardizedFileURL.path
        for file in files { try copy(file, into: destination) }
        console.print("fetched \(files.count) file\(files.count == 1 ? "" : "s") (\(StoreText.bytes(totalBytes))) of \(reference) into \(destination)")
        for file in files { console.print("  \(file.relative)  \(StoreText.bytes(file.bytes))") }
        return .success
    }

    struct FetchFile {
        /// Absolute path in the store.
        var source: String
        /// Relative to the referenced folder (where it goes under the destination).
        var relative: String
        /// Relative to `<store>/runs` (its path inside a bundle).
        var runRelative: String
        var bytes: Int
    }

    static func selectFiles(store: ArtifactStore, reference: StoreReference, failedOnly: Bool) async throws -> [FetchFile] {
        let folder = try await store.folder(for: reference)
        let runFolder = store.layout.run(reference.runID)
        var cellIDs: [String]
        var files: [FetchFile] = []
        if let cellID = reference.cellID {
            cellIDs = [cellID]
        } else {
            let cells = try await store.cells(runID: reference.runID)
            cellIDs = cells.filter { !failedOnly || $0.outcome.isFailure || $0.outcome == .flaky }.map(\.cellID)
            if !failedOnly || !cellIDs.isEmpty {
                for name in StoreFiles.regularFiles(in: runFolder) {
                    files.append(try file("\(runFolder)/\(name)", relative: name, runID: reference.runID))
                }
            }
        }
        for cellID in cellIDs {
            let cellFolder = reference.cellID == nil ? "\(runFolder)/\(cellID)" : folder
            // A cell folder that is a link out of the store is skipped, like a linked file.
            guard StoreFiles.isDirectory(cellFolder), StoreFiles.isInside(cellFolder, folder: store.layout.runs) else { continue }
            for name in StoreFiles.regularFiles(in: cellFolder) {
                let relative = reference.cellID == nil ? "\(cellID)/\(name)" : name
                files.append(try file("\(cellFolder)/\(name)", relative: relative, runID: reference.runID, cellID: cellID))
            }
        }
        return files
    }

    static func file(_ path: String, relative: String, runID: String, cellID: String? = nil) throws -> FetchFile {
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        let runRelative = "\(runID)/" + (cellID.map { "\($0)/" } ?? "") + URL(fileURLWithPath: path).lastPathComponent
        return FetchFile(source: path, relative: relative, runRelative: runRelative, bytes: size)
    }

    static func copy(_ file: FetchFile, into destination: String) throws {
        let target = "\(destination)/\(file.relative)"
        let manager = FileManager.default
        do {
            try manager.createDirectory(atPath: URL(fileURLWithPath: target).deletingLastPathComponent().path, withIntermediateDirectories: true)
            if manager.fileExists(atPath: target) { try manager.removeItem(atPath: target) }
            try manager.copyItem(atPath: file.source, toPath: target)
        } catch {
            throw UserError("cannot copy \(file.source) to \(target): \(error.localizedDescription) (pick a writable --to DIR)")
        }
    }

    /// `tar czf` over an explicit list of regular files, so nothing outside the list (no
    /// link target, no stray temporary file) gets in.
    static func writeBundle(_ files: [FetchFile], runsFolder: String, to bundle: String) async throws {
        let manager = FileManager.default
        try manager.createDirectory(atPath: URL(fileURLWithPath: bundle).deletingLastPathComponent().path, withIntermediateDirectories: true)
        let list = manager.temporaryDirectory.appendingPathComponent("nestci-fetch-\(UUID().uuidString).list").path
        try files.map(\.runRelative).joined(separator: "\n").appending("\n").write(toFile: list, atomically: true, encoding: .utf8)
        defer { try? manager.removeItem(atPath: list) }
        let partial = bundle + ".partial"
        let result = try await SupervisedProcess.run(
            ProcessSpec("tar", ["-czf", partial, "-C", runsFolder, "--no-recursion", "-T", list], timeout: .seconds(600)))
        guard result.succeeded else {
            try? manager.removeItem(atPath: partial)
            throw UserError("tar could not write \(bundle) (\(result.summary)): \(StoreText.oneLine(result.output, width: 200))")
        }
        guard rename(partial, bundle) == 0 else {
            throw UserError("cannot move \(partial) to \(bundle): \(String(cString: strerror(errno)))")
        }
    }
}
