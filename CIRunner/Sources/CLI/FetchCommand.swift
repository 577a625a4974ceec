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
            instead: enough to boot the cell again elsewhere, with each disk's grub-N.cfg, the emulator
            settings (emulator-settings.json), verdict-rules.json, reproduce.sh and the boot binaries under
            CELL/boot/LEVEL/ (`sh reproduce.sh --from-bundle` boots them; --no-binaries leaves them out).
            --failed also brings the passing cells the run's findings compare the failed ones against.
            Only regular files inside the store are copied; symbolic links are skipped.
            """,
        arguments: [.init("RUN[/CELL]", help: "a run id from `nestci runs`, or RUN/CELL from `nestci show RUN`")],
        options: [
            CommonOptions.store,
            .init("failed", help: "only cells that failed (FAIL, TIMEOUT, BUILD-FAIL, FLAKY), and the passing cells their findings name"),
            .init("to", value: "DIR", help: "where to put the files (or the bundle)"),
            .init("bundle", help: "write one .tar.gz instead of a folder"),
            .init("no-binaries", help: "with --bundle: leave out the boot binaries (reproduce.sh then builds them)"),
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
        var files = try await selectFiles(store: store, reference: reference, failedOnly: arguments.flag("failed"))
        if arguments.flag("bundle"), !arguments.flag("no-binaries") { files += bootBinaries(for: files, store: store.layout.store) }
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
        // The passing side of each finding about a selected cell: what its VMCS diff and
        // verdicts compare against (another opt level, revision, or the previous run).
        var siblings: [(runID: String, cellID: String)] = []
        if failedOnly {
            let selected = Set(cellIDs)
            for finding in (try? await store.findings(runID: reference.runID)) ?? [] where finding.verdicts.contains(where: { $0.runID == reference.runID && selected.contains($0.cellID) }) {
                for verdict in finding.verdicts where !verdict.outcome.isFailure && verdict.outcome != .flaky {
                    let key = (verdict.runID, verdict.cellID)
                    if (key.0 == reference.runID && selected.contains(key.1)) || siblings.contains(where: { $0 == key }) { continue }
                    siblings.append(key)
                }
            }
        }
        for sibling in siblings {
            let siblingFolder = store.layout.cell(sibling.runID, sibling.cellID)
            guard StoreFiles.isSafeComponent(sibling.runID), StoreFiles.isSafeComponent(sibling.cellID), StoreFiles.isDirectory(siblingFolder),
                StoreFiles.isInside(siblingFolder, folder: store.layout.runs)
            else { continue }
            // Beside the failed cells in a folder; at its own run's place in a bundle.
            let prefix = sibling.runID == reference.runID ? "" : "\(sibling.runID)/"
            for name in StoreFiles.regularFiles(in: siblingFolder) {
                let relative = reference.cellID == nil || !prefix.isEmpty ? "\(prefix)\(sibling.cellID)/\(name)" : "../\(sibling.cellID)/\(name)"
                files.append(try file("\(siblingFolder)/\(name)", relative: relative, runID: sibling.runID, cellID: sibling.cellID))
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

    /// The files of each bundled cell's GRUB disks (its `boot-files.json`), as
    /// `CELL/boot/LEVEL/NAME`: what `reproduce.sh --from-bundle` boots. Only regular files
    /// inside the store's builds are taken.
    static func bootBinaries(for files: [FetchFile], store: String) -> [FetchFile] {
        var binaries: [FetchFile] = []
        for manifest in files where manifest.source.hasSuffix("/\(RunLayout.bootFiles)") {
            guard let entries = try? StoreFiles.decode([BootFile].self, file: manifest.source) else { continue }
            let runRelativeFolder = (manifest.runRelative as NSString).deletingLastPathComponent
            let relativeFolder = (manifest.relative as NSString).deletingLastPathComponent
            for entry in entries {
                let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
                guard !parts.isEmpty, parts.allSatisfy({ StoreFiles.isSafeComponent(String($0)) }), StoreFiles.isRegularFile(entry.path),
                    StoreFiles.isInside(entry.path, folder: "\(store)/builds")
                else { continue }
                let inCell = "\(ReproduceScript.bundleFolder(level: entry.level))/\(entry.name)"
                let size = (try? FileManager.default.attributesOfItem(atPath: entry.path)[.size] as? NSNumber)?.intValue ?? 0
                binaries.append(
                    FetchFile(
                        source: entry.path, relative: relativeFolder.isEmpty ? inCell : "\(relativeFolder)/\(inCell)",
                        runRelative: "\(runRelativeFolder)/\(inCell)", bytes: size))
            }
        }
        return binaries
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
        // Files from elsewhere in the store (boot binaries) are staged at their bundle path.
        let staging = manager.temporaryDirectory.appendingPathComponent("nestci-fetch-\(UUID().uuidString)").path
        defer { try? manager.removeItem(atPath: staging) }
        let inPlace = files.filter { $0.source == "\(runsFolder)/\($0.runRelative)" }
        let staged = files.filter { $0.source != "\(runsFolder)/\($0.runRelative)" }
        for file in staged {
            let target = "\(staging)/\(file.runRelative)"
            try? manager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            do {
                try manager.copyItem(atPath: file.source, toPath: target)
            } catch {
                throw UserError("cannot stage \(file.source) for the bundle: \(error.localizedDescription) (check free space in \(manager.temporaryDirectory.path))")
            }
        }
        let stagedList = list + ".staged"
        try inPlace.map(\.runRelative).joined(separator: "\n").appending("\n").write(toFile: list, atomically: true, encoding: .utf8)
        try staged.map(\.runRelative).joined(separator: "\n").appending("\n").write(toFile: stagedList, atomically: true, encoding: .utf8)
        defer {
            try? manager.removeItem(atPath: list)
            try? manager.removeItem(atPath: stagedList)
        }
        let partial = bundle + ".partial"
        var tarArguments = ["-czf", partial, "--no-recursion", "-C", runsFolder, "-T", list]
        if !staged.isEmpty { tarArguments += ["-C", staging, "-T", stagedList] }
        let result = try await SupervisedProcess.run(ProcessSpec("tar", tarArguments, timeout: .seconds(600)))
        guard result.succeeded else {
            try? manager.removeItem(atPath: partial)
            throw UserError("tar could not write \(bundle) (\(result.summary)): \(StoreText.oneLine(result.output, width: 200))")
        }
        guard rename(partial, bundle) == 0 else {
            throw UserError("cannot move \(partial) to \(bundle): \(String(cString: strerror(errno)))")
        }
    }
}
