import Foundation
import Hypervisor
import Matrix

/// A health check of the host before a run, as LAVA's: boot a known-good kernel
/// (``CanaryKernel``) through a GRUB disk on each backend the run uses. A backend that
/// cannot boot it is broken here (emulator upgraded badly, BIOS files gone, a full disk),
/// so its cells are INFRA "host canary failed: …" instead of FAILs that would read as the
/// hypervisor's regressions. Takes seconds per backend, the boots in parallel.
public struct HostCanary: Sendable {
    /// The emulator for a backend; tests substitute a broken one.
    public var emulator: @Sendable (Backend) -> any Emulator
    /// From boot start to giving up on the marker.
    public var deadline: Duration

    public init(deadline: Duration = .seconds(60), emulator: @escaping @Sendable (Backend) -> any Emulator = Emulators.emulator(for:)) {
        self.deadline = deadline
        self.emulator = emulator
    }

    /// Boots the canary on each of `backends`, its evidence in `folder/<backend>/`; returns
    /// why each failing backend failed (a healthy backend is absent).
    public func check(_ backends: Set<Backend>, store: String, folder: String) async -> [Backend: String] {
        await withTaskGroup(of: (Backend, String?).self) { group in
            for backend in backends {
                group.addTask { (backend, await boot(backend, store: store, folder: "\(folder)/\(backend.rawValue)")) }
            }
            var failures: [Backend: String] = [:]
            for await (backend, failure) in group {
                if let failure { failures[backend] = failure }
            }
            return failures
        }
    }

    /// Nil when the canary passed, else what happened.
    func boot(_ backend: Backend, store: String, folder: String) async -> String? {
        let disk: GrubDisk
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let kernel = "\(folder)/canary.bin"
            try AtomicFile.write(Data(CanaryKernel.image), to: kernel)
            let config = try GrubConfig(kernel: "canary.bin").render()
            disk = try await GrubDiskBuilder(store: store).build(GrubDiskSpec(files: ["canary.bin": kernel], grubConfig: config))
        } catch {
            return "\(backend.rawValue): the canary's GRUB disk could not be made: \(error)"
        }
        let rules = VerdictRules(pass: [PassRule(marker: Marker(name: "canary", regex: CanaryKernel.marker))], fail: [], unsupported: [])
        let request = BootRequest(
            plan: BootPlan(backend: backend, disks: [BootDisk(path: disk.path)], smp: 1, memoryMiB: 64), rules: rules, folder: folder,
            deadline: deadline, hostHasVMX: true, emulator: emulator(backend))
        let result = await BootRunner.run(request)
        guard result.verdict.outcome != .pass else { return nil }
        return "\(backend.rawValue) did not boot a known-good kernel (\(result.verdict.outcome.rawValue): \(result.verdict.reason)); evidence in \(folder)"
    }
}
