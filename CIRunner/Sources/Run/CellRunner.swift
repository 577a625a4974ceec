import Foundation
import Hypervisor
import Matrix

/// One cell's way through a run: builds → disks → boot (with retries) → evidence files.
struct CellRunner: Sendable {
    let options: RunOptions
    let layout: RunLayout
    let runID: String
    let host: HostFingerprint
    let builder: Builder
    let disks: GrubDiskBuilder
    let slots: Slots
    /// Boot seconds per cell from the previous run: longest first.
    let expected: [String: Double]
    /// Where cells are indexed (nil: `nestci cell run`, whose bundle is indexed later by ingest).
    let store: ArtifactStore?
    let stopFlag: Mutex<Bool>
    let onEvent: @Sendable (RunEvent) -> Void
    /// Backends whose host canary failed, and why: their cells are INFRA, never booted.
    var canaryFailures: [Backend: String] = [:]

    /// Runs the cell, writes its files, then indexes it in the store (rows only after files).
    func run(_ cell: Cell) async throws -> CellResult {
        let (finished, builds) = try await runFiles(cell, folder: layout.cell(runID, cell.id))
        guard let store else { return finished }
        for record in builds { try? await store.recordBuild(record) }
        try await store.recordCell(runID: runID, result: finished)
        return finished
    }

    /// Runs the cell and writes its files into `folder`, touching no store (`nestci cell
    /// run` makes its bundle of them). Returns the result and the cell's build records.
    func runFiles(_ cell: Cell, folder: String) async throws -> (result: CellResult, builds: [BuildRecord]) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var evidence = CellEvidence(cell: cell, folder: folder)
        evidence.serialLogLimit = options.serialLogLimit
        evidence.vmx = host.vmxSupport(for: cell.backend)
        let result = try await outcome(cell, evidence: &evidence)
        // A cell torn down (nestci cancel, a service stop, SIGINT/SIGTERM) is not recorded:
        // what its killed builds and boots said is not the hypervisor's outcome.
        try Self.checkNotTornDown()
        var finished = evidence.finish(result)
        finished.signature = FailureSignature.of(
            finished, serialLog: finished.artifacts["serial"].map { "\(folder)/\($0)" }, milestones: cell.verdict.pass.map(\.marker))
        return (finished, evidence.buildRecords)
    }

    private func outcome(_ cell: Cell, evidence: inout CellEvidence) async throws -> CellResult {
        if let failure = canaryFailures[cell.backend] {
            return CellResult(cell: cell, outcome: .infra, rule: "host-canary", reason: "host canary failed: \(failure)")
        }
        // 1. Builds, each key once for the whole run (the Builder's single flight).
        var records: [BuildRecord?] = []
        for (index, level) in cell.levels.enumerated() {
            guard let spec = level.build else {
                records.append(nil)
                continue
            }
            let record: BuildRecord
            do {
                record = try await builder.build(spec)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                return CellResult(cell: cell, outcome: .infra, rule: "build-harness", reason: "level \(index) (\(level.component)): \(error)")
            }
            onEvent(.buildFinished(key: spec.key, status: record.status.rawValue, cached: record.cacheHit, seconds: record.durationSeconds))
            evidence.addBuild(record, level: index)
            records.append(record)
            guard record.status == .passed else {
                var first = record.errorLines.first ?? record.failure ?? record.status.rawValue
                if let note = record.cachedNote { first += " (\(note))" }
                return CellResult(
                    cell: cell, outcome: .buildFail, rule: "build", reason: "level \(index) (\(level.component) \(record.optFlags)): \(first)",
                    commits: evidence.commits)
            }
        }
        if stopFlag.withLock({ $0 }) {
            return CellResult(cell: cell, outcome: .skip, rule: "fail-fast", reason: "not booted: an earlier cell failed and --fail-fast is set", commits: evidence.commits)
        }
        let availability = host.availability(of: cell.backend)
        guard availability.available else {
            return CellResult(cell: cell, outcome: .infra, rule: "backend", reason: "\(cell.backend.rawValue) cannot run here: \(availability.reason)", commits: evidence.commits)
        }
        if let reason = host.vmxSkipReason(for: cell) {
            return CellResult(cell: cell, outcome: .skip, rule: "no-vmx", reason: reason, secondsToVerdict: 0, commits: evidence.commits)
        }

        // 2. One GRUB disk per built level, images as they are.
        let bootDisks: [BootDisk]
        do {
            bootDisks = try await makeDisks(cell, records: records, evidence: &evidence)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return CellResult(cell: cell, outcome: .infra, rule: "disk", reason: "\(error)", commits: evidence.commits)
        }

        // 3. Boot: INFRA retried; FAIL/TIMEOUT re-run when asked (then PASS = FLAKY).
        let vmx = host.vmxSupport(for: cell.backend, cpuModel: cell.emulator?.cpu)
        let plan = cell.bootPlan(disks: bootDisks)
        var attempt = 0
        var infraLeft = options.infraRetries
        var rerunsLeft = options.rerunFailed
        var failedOnce = false
        var bootSeconds = 0.0
        while true {
            // A cancelled run (nestci cancel, a service stop) starts no new attempt.
            try Self.checkNotTornDown()
            attempt += 1
            let attemptFolder = "\(evidence.folder)/attempt-\(attempt)"
            onEvent(.cellBooting(cellID: cell.id, label: cell.levelSummary, attempt: attempt))
            let request = bootRequest(cell, plan: plan, folder: attemptFolder, vmx: vmx)
            let boot = try await slots.withSlot(priority: expected[cell.id] ?? .infinity) { await BootRunner.run(request) }
            bootSeconds += boot.timeToDecision.seconds + boot.stopDuration.seconds
            // (A cell that needs VMX where there is none never gets here: vmxSkipReason.)
            let verdict = boot.verdict
            evidence.recordBoot(boot, verdict: verdict)
            switch verdict.outcome {
            // A full disk stays full: retrying would only fill it again.
            case .infra where infraLeft > 0 && verdict.rule != "disk-full":
                infraLeft -= 1
                continue
            case .fail, .timeout:
                if rerunsLeft > 0 {
                    rerunsLeft -= 1
                    failedOnce = true
                    continue
                }
            default: break
            }
            var outcome = verdict.outcome
            var reason = verdict.line ?? verdict.reason
            if failedOnce, outcome == .pass {
                outcome = .flaky
                reason = "failed, then passed on attempt \(attempt): \(reason)"
            }
            var result = CellResult(
                cell: cell, outcome: outcome, rule: verdict.rule, reason: reason, line: verdict.lineNumber,
                secondsToVerdict: verdict.seconds, bootSeconds: bootSeconds, commits: evidence.commits, attempts: attempt)
            result.verdictLatencySeconds = boot.verdictLatency?.seconds
            result.milestones = boot.milestones
            result.rates = boot.rates.isEmpty ? nil : boot.rates
            return result
        }
    }

    /// Throws `CancellationError` once the run is cancelled or nestci is shutting down.
    static func checkNotTornDown() throws {
        if Task.isCancelled || ProcessRegistry.shared.isShuttingDown { throw CancellationError() }
    }

    func makeDisks(_ cell: Cell, records: [BuildRecord?], evidence: inout CellEvidence) async throws -> [BootDisk] {
        var result: [BootDisk] = []
        for (index, level) in cell.levels.enumerated() {
            if let image = level.imagePath {
                guard FileManager.default.fileExists(atPath: image) else {
                    throw RunError(.missingInput, "level \(index) (\(level.component)): image \(image) does not exist (fix components.\(level.component).path)")
                }
                result.append(BootDisk(path: image, format: image.hasSuffix(".qcow2") ? .qcow2 : .raw))
                continue
            }
            guard let boot = level.boot, let record = records[index] else { continue }
            var files: [String: String] = [:]
            var outputNames: [String: String] = [:]
            func file(_ output: String) throws -> String {
                guard let url = record.outputURL(output) else {
                    throw RunError(.missingInput, "level \(index) (\(level.component)): build has no output \"\(output)\"")
                }
                let name = url.lastPathComponent
                files[name] = url.path
                outputNames[name] = output
                return name
            }
            let handover: GrubConfig.Handover =
                switch boot.handoff {
                case Component.Handoff.bootSector.rawValue: .bootSectorModule
                case Component.Handoff.chainloader.rawValue: .chainloader
                default: .none
                }
            let kernel = handover == .chainloader ? nil : try file(boot.kernel)
            let modules = handover == .chainloader ? [] : try boot.modules.map(file)
            let config = GrubConfig(kernel: kernel, cmdline: boot.cmdline, modules: modules, handover: handover, diskIndex: index, template: boot.grubTemplate)
            let text = try config.render()
            let spec = GrubDiskSpec(files: files, grubConfig: text, diskIndex: index)
            evidence.disks.append(ReproduceDisk(level: index, spec: spec, outputs: outputNames))
            let disk = try await disks.build(spec)
            result.append(BootDisk(path: disk.path, format: .raw))
        }
        return result
    }
}
