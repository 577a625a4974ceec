import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// Parent of every suite that boots the demo hypervisor or the fixture kernels for real.
/// `.serialized` is recursive: the nested suites (one file each) and their parameterised
/// cases run one at a time, in source order — so at most one emulator of ours runs on the
/// two shared cores, and `NoLeftoverProcessTests.swift` (last by file name) runs last.
@Suite("Real boots: demo hypervisor and fixture kernels, one emulator at a time", .serialized)
struct RealBootSuite {}

/// Host tools the real boots need; CI installs them, so nothing here skips there.
enum RealBootTools {
    static func exists(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }

    /// gcc, make and git build; GRUB and mtools make the disks.
    static let canBuildDisks = ["gcc", "make", "git", "grub-mkimage", "mformat", "mmd", "mcopy"].allSatisfy(exists)
        && FileManager.default.fileExists(atPath: "/usr/lib/grub/i386-pc/boot.img")
    static let qemu = canBuildDisks && exists("qemu-system-x86_64")
    static let bochs = canBuildDisks && exists("bochs-bin")
        && FileManager.default.fileExists(atPath: "/usr/share/bochs/BIOS-bochs-latest")
        && FileManager.default.fileExists(atPath: "/usr/share/vgabios/vgabios.bin")

    static let qemuReason: Comment = "needs gcc, make, git, GRUB (grub-pc-bin), mtools and qemu-system-x86_64"
    static let bochsReason: Comment = "needs gcc, make, git, GRUB (grub-pc-bin), mtools, bochs, bochsbios, vgabios and bochs-sdl"
}

/// This test process's scratch folder: every build store, disk, cell folder and emulator
/// command line of these suites lies under it, which is how the leftover check finds ours.
enum RealBootRun {
    static let prefix = "nestci-realboot-"

    static let root: String = {
        let temporary = FileManager.default.temporaryDirectory.path
        // Folders of earlier test processes that are gone: disks add up otherwise.
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(prefix) {
            if let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(atPath: "\(temporary)/\(name)")
            }
        }
        let path = "\(temporary)/\(prefix)\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    static func folder(_ name: String) -> String {
        let path = "\(root)/\(name)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func cellFolder(_ name: String) -> String { "\(root)/cells/\(name)-\(UUID().uuidString.prefix(8))" }

    /// qemu or Bochs processes whose command line names this run's folder: `pid: cmdline`.
    static func leftoverEmulators() -> [String] {
        var found: [String] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            guard let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"), !data.isEmpty else { continue }
            let command = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            let isEmulator = command.contains("qemu-system") || command.contains("bochs-bin") || command.hasPrefix("bochs ")
            if isEmulator, command.contains(root) { found.append("\(entry): \(command)") }
        }
        return found
    }

    /// Boots, prints the cell's time (the measured numbers of the report) and checks that the
    /// emulator's whole process group is gone once the runner returns.
    static func boot(_ label: String, _ request: BootRequest, sourceLocation: SourceLocation = #_sourceLocation) async -> BootResult {
        let result = await BootRunner.run(request)
        print(
            "[realboot] \(request.plan.backend.rawValue) \(label): \(result.verdict.outcome.rawValue) (\(result.verdict.rule)) after \(String(format: "%.2f", result.timeToDecision.seconds)) s, first serial byte \(String(format: "%.2f", result.firstOutput?.seconds ?? -1)) s, stop \(String(format: "%.2f", result.stopDuration.seconds)) s"
        )
        if let pid = result.emulatorPID {
            #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "emulator \(pid) still in /proc", sourceLocation: sourceLocation)
            #expect(!ProcessRegistry.shared.live.contains(pid), "emulator \(pid) still supervised", sourceLocation: sourceLocation)
        }
        let left = leftoverEmulators()
        #expect(left.isEmpty, "emulators left running after \(label): \(left)", sourceLocation: sourceLocation)
        return result
    }

    static func serial(_ result: BootResult) -> String {
        (try? String(contentsOfFile: result.serialLog, encoding: .utf8)) ?? ""
    }

    /// What the host probe says about VMX on `backend`: the BootRequest's `hostHasVMX`.
    static func vmx(_ backend: Backend) async -> (supported: Bool, reason: String) {
        await HostProbe.fingerprint().vmxSupport(for: backend)
    }
}

// MARK: - The demo hypervisor (minivisor)

/// One demo cell: which revision of the materialised repository, built how.
struct RealBootDemoCell: Hashable, Sendable, CustomStringConvertible {
    /// `good` (the tag) or `main` (the branch with the planted bug).
    var revision: String
    var opt: OptLevel
    var bits: Bits

    var description: String { "\(revision) \(opt.rawValue) \(bits.rawValue)" }
}

/// The demo, set up the way `nestci demo` does it: DemoProject materialises the git
/// repository and its matrix; the matrix's plan gives each cell's BuildSpec and verdict
/// rules; the Builder builds, GrubDiskBuilder makes the disk, BootRunner boots.
///
/// Everything is done at most once per test process, however many tests ask: one build per
/// (revision, opt, bits), one disk per build, one boot per (cell, backend).
actor RealBootDemo {
    static let shared = RealBootDemo()

    struct Prepared: Sendable {
        var folder: String
        var plan: Plan
    }

    private var prepared: Task<Prepared, any Error>?
    private var builders: [Bool: Builder] = [:]
    private var builds: [String: Task<BuildRecord, any Error>] = [:]
    private var disks: [RealBootDemoCell: Task<String, any Error>] = [:]
    private var boots: [String: Task<BootResult, any Error>] = [:]

    /// The materialised repository and its matrix's plan.
    func prepare() async throws -> Prepared {
        if let prepared { return try await prepared.value }
        let task = Task {
            let folder = RealBootRun.folder("demo")
            let matrix = try await DemoProject.locate().materialize(in: folder)
            return Prepared(folder: folder, plan: try MatrixFile.load(path: matrix).plan())
        }
        prepared = task
        return try await task.value
    }

    /// The plan's cell for `cell` on Bochs (the demo matrix's only backend).
    func planned(_ cell: RealBootDemoCell) async throws -> Cell {
        let plan = try await prepare().plan
        return try #require(
            plan.cells.first { $0.values["rev"] == cell.revision && $0.opt == cell.opt && $0.bits == cell.bits && $0.backend == .bochs },
            "the demo matrix has no cell \(cell) on bochs")
    }

    /// The level's BuildSpec, exactly as the matrix plans it.
    func spec(_ cell: RealBootDemoCell) async throws -> BuildSpec {
        try #require(try await planned(cell).levels.first?.build, "the demo cell \(cell) has no build")
    }

    private func builder(noWorkarounds: Bool) -> Builder {
        if let builder = builders[noWorkarounds] { return builder }
        // Separate stores: the flag policy decides the cache key anyway, but a raw build's
        // record should never be what a normal run finds.
        let store = RealBootRun.folder(noWorkarounds ? "demo-store-raw" : "demo-store")
        let builder = Builder(store: URL(fileURLWithPath: store), options: BuilderOptions(noWorkarounds: noWorkarounds, maxParallel: 1, cores: 2))
        builders[noWorkarounds] = builder
        return builder
    }

    /// The Builder's record for `cell` (a failed build is a record, not an error).
    func build(_ cell: RealBootDemoCell, noWorkarounds: Bool = false) async throws -> BuildRecord {
        let key = "\(cell) raw=\(noWorkarounds)"
        if let build = builds[key] { return try await build.value }
        let spec = try await spec(cell)
        let builder = builder(noWorkarounds: noWorkarounds)
        let task = Task {
            let clock = ContinuousClock()
            let started = clock.now
            let record = try await builder.build(spec)
            print("[realboot] build \(cell)\(noWorkarounds ? " (no workarounds)" : ""): \(record.summary) in \(String(format: "%.1f", (clock.now - started).seconds)) s")
            return record
        }
        builds[key] = task
        return try await task.value
    }

    /// A one-level GRUB disk booting `cell`'s minivisor.bin (no hand-over).
    func disk(_ cell: RealBootDemoCell) async throws -> String {
        if let disk = disks[cell] { return try await disk.value }
        let planned = try await planned(cell)
        let task = Task {
            let record = try await self.build(cell)
            try #require(record.status == .passed, "the \(cell) build failed: \(record.summary)")
            let kernel = try #require(record.outputURL("kernel")?.path, "the \(cell) build has no kernel output")
            let config = try GrubConfig(kernel: "minivisor.bin", cmdline: planned.levels.first?.boot?.cmdline ?? "", handover: .none).render()
            let store = GrubDiskBuilder(store: RealBootRun.folder("disks"))
            return try await store.build(GrubDiskSpec(files: ["minivisor.bin": kernel], grubConfig: config)).path
        }
        disks[cell] = task
        return try await task.value
    }

    /// Boots `cell` once on `backend` with the demo matrix's verdict rules and the host
    /// probe's word on VMX.
    func boot(_ cell: RealBootDemoCell, on backend: Backend = .bochs) async throws -> BootResult {
        let key = "\(cell) \(backend.rawValue)"
        if let boot = boots[key] { return try await boot.value }
        let planned = try await planned(cell)
        let task = Task {
            let disk = try await self.disk(cell)
            let vmx = await RealBootRun.vmx(backend)
            let request = BootRequest(
                plan: BootPlan(backend: backend, disks: [BootDisk(path: disk)], smp: 1, memoryMiB: planned.memoryMiB), rules: planned.verdict,
                folder: RealBootRun.cellFolder("demo-\(cell.revision)-\(cell.opt.rawValue)-\(cell.bits.rawValue)-\(backend.rawValue)"),
                deadline: .seconds(backend == .bochs ? 120 : 30), hostHasVMX: vmx.supported, vmxReason: vmx.reason)
            return await RealBootRun.boot("demo \(cell)", request)
        }
        boots[key] = task
        return try await task.value
    }
}

/// The demo matrix's rules, as the tests expect them (checked against the plan).
enum RealBootDemoRules {
    static let passMarker = "minivisor: all 20 rounds passed"
}

// MARK: - The fixture kernels

/// The fixture kernels (Tests/Fixtures/kernels), built with `make` in a private copy per
/// (bits, opt) so the checkout stays clean, each once per test process.
actor RealBootFixtures {
    static let shared = RealBootFixtures()

    static let source: String? = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            let candidate = url.appendingPathComponent("Tests/Fixtures/kernels")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("Makefile").path) { return candidate.path }
            url.deleteLastPathComponent()
        }
        return nil
    }()

    static var available: Bool { source != nil }

    private var kernels: [String: Task<String, any Error>] = [:]
    private var disks: [String: Task<String, any Error>] = [:]

    /// `build/<bits>/fixture.bin` of a `make BITS=<bits> OPT=-O<n>` build.
    func kernel(_ bits: Bits, _ opt: OptLevel) async throws -> String {
        let key = "\(bits.rawValue)\(opt.flag)"
        if let kernel = kernels[key] { return try await kernel.value }
        let task = Task {
            let source = try #require(Self.source, "Tests/Fixtures/kernels is missing")
            let copy = "\(RealBootRun.folder("fixtures"))/\(key)"
            try? FileManager.default.removeItem(atPath: copy)
            try FileManager.default.copyItem(atPath: source, toPath: copy)
            try? FileManager.default.removeItem(atPath: "\(copy)/build")
            let result = try await SupervisedProcess.run(
                ProcessSpec("make", ["-C", copy, "BITS=\(bits.rawValue)", "OPT=\(opt.flag)", "-j2"], timeout: .seconds(300)))
            try #require(result.succeeded, "fixture build \(key) failed: \(result.output.suffix(2000))")
            return "\(copy)/build/\(bits.rawValue)/fixture.bin"
        }
        kernels[key] = task
        return try await task.value
    }

    /// A one-level GRUB disk: `multiboot /boot/fixture.bin <cmdline>`.
    func disk(_ bits: Bits, _ opt: OptLevel, cmdline: String) async throws -> String {
        let key = "\(bits.rawValue)\(opt.flag) \(cmdline)"
        if let disk = disks[key] { return try await disk.value }
        let task = Task {
            let kernel = try await self.kernel(bits, opt)
            let config = try GrubConfig(kernel: "fixture.bin", cmdline: cmdline).render()
            return try await GrubDiskBuilder(store: RealBootRun.folder("disks")).build(GrubDiskSpec(files: ["fixture.bin": kernel], grubConfig: config)).path
        }
        disks[key] = task
        return try await task.value
    }

    static let passRule = PassRule(marker: Marker(name: "fixture-pass", regex: "^FIXTURE PASS$"))

    static func rules(pass: [PassRule] = [passRule]) -> VerdictRules {
        VerdictRules(pass: pass, fail: VerdictRules.defaultFailMarkers, unsupported: VerdictRules.defaultUnsupportedMarkers)
    }

    /// Boots one fixture disk.
    static func boot(
        _ label: String, bits: Bits, opt: OptLevel, cmdline: String, backend: Backend = .qemuTCG, smp: Int = 1,
        rules: VerdictRules = rules(), deadline: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> BootResult {
        let disk = try await shared.disk(bits, opt, cmdline: cmdline)
        let vmx = await RealBootRun.vmx(backend)
        let request = BootRequest(
            plan: BootPlan(backend: backend, disks: [BootDisk(path: disk)], smp: smp, memoryMiB: 128), rules: rules,
            folder: RealBootRun.cellFolder("fixture-\(label.replacingOccurrences(of: " ", with: "-"))"), deadline: deadline,
            hostHasVMX: vmx.supported, vmxReason: vmx.reason)
        return await RealBootRun.boot("fixture \(label) [\(bits.rawValue) \(opt.rawValue) \(cmdline)]", request, sourceLocation: sourceLocation)
    }
}

// MARK: - Dumps

extension VMCSDumpSet {
    /// The first dump whose introducing line contains `text`.
    func dump(introducedBy text: String) -> VMCSDump? {
        dumps.first { $0.introducedBy?.text.contains(text) == true }
    }
}

/// Parent of the suites that run the real `nestci` executable with emulators and builds
/// (serve, kills, interrupts, concurrent runs, the demo): serialized like ``RealBootSuite``,
/// so at most one such suite loads the two shared cores beside that one, and the deadlines
/// they check (a service stop within 10 s) are the product's, not the test load's.
@Suite("Real nestci processes: one suite at a time", .serialized)
struct RealProcessSuite {}

/// Helpers of these suites that other test files call.
typealias ServiceTests = RealProcessSuite.ServiceTests
typealias KillTests = RealProcessSuite.KillTests
