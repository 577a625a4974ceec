import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    /// The emulator settings of a matrix cell, booted for real: a chosen Bochs CPU model
    /// with extra bochsrc lines, qemu-tcg's default Intel model, and a whole `nestci run`
    /// where the hypervisor cell on qemu-tcg is SKIPped before it boots.
    @Suite("Emulator settings, booted for real")
    struct EmulatorSettingsBootTests {
        /// A one-level fixture chain on `backend`, with `emulator` (JSON) on the chain.
        static func cell(_ backend: Backend, emulator: String) throws -> Cell {
            let text = """
                {"name": "t",
                 "components": {"fixture": {"kind": "guest", "repository": "/k", "revision": "main",
                    "build": {"command": "make", "outputs": {"kernel": "fixture.bin"}}, "boot": {"kernel": "kernel"}}},
                 "chains": {"c": {"levels": [{"component": "fixture"}], "verdict": {"pass": ["^FIXTURE PASS$"]}, "memory": 128, "emulator": \(emulator)}},
                 "axes": {"opt": ["O2"], "bits": ["i386"], "backend": ["\(backend.rawValue)"]}}
                """
            return try #require(try MatrixFile.parse(text).plan().cells.first)
        }

        static func boot(_ label: String, _ cell: Cell) async throws -> BootResult {
            let disk = try await RealBootFixtures.shared.disk(.i386, .O2, cmdline: "mode=pass")
            let vmx = await RealBootRun.vmx(cell.backend)
            let request = BootRequest(
                plan: BootPlan(cell: cell, disks: [BootDisk(path: disk)]), rules: cell.verdict, folder: RealBootRun.cellFolder(label),
                deadline: .seconds(120), hostHasVMX: vmx.supported, vmxReason: vmx.reason)
            return await RealBootRun.boot(label, request)
        }

        @Test(
            "Bochs boots with the matrix's CPU model and extra bochsrc lines",
            .enabled(if: RealBootTools.bochs && RealBootFixtures.available, RealBootTools.bochsReason))
        func bochsModel() async throws {
            let cell = try Self.cell(.bochs, emulator: #"{"bochs": {"cpu": "corei7_haswell_4770", "lines": ["cpu: ips=40000000", "port_e9_hack: enabled=1"]}}"#)
            let result = try await Self.boot("bochs-haswell", cell)
            #expect(result.verdict.outcome == .pass, "\(result.verdict)")
            let rc = try String(contentsOfFile: "\(result.folder)/bochsrc", encoding: .utf8)
            #expect(rc.contains("cpu: model=corei7_haswell_4770, count=1") && rc.hasSuffix("cpu: ips=40000000\nport_e9_hack: enabled=1\n"))
            let log = try String(contentsOfFile: try #require(result.backendLog), encoding: .utf8)
            #expect(log.contains("Haswell") || log.contains("haswell"), "Bochs' log names the model it emulates: \(log.prefix(3000))")
            #expect(log.contains("IPS is set to 40000000"), "the chain's ips line wins over nestci's default: \(log.prefix(3000))")
        }

        @Test(
            "qemu-tcg's default CPU is an Intel model that TCG runs without feature warnings",
            .enabled(if: RealBootTools.qemu && RealBootFixtures.available, RealBootTools.qemuReason))
        func qemuDefaultCPU() async throws {
            let cell = try Self.cell(.qemuTCG, emulator: #"{"qemu": {"args": ["-rtc", "base=utc"]}}"#)
            let result = try await Self.boot("tcg-westmere", cell)
            #expect(result.verdict.outcome == .pass, "\(result.verdict)")
            #expect(result.commandLine.contains("-cpu Westmere") && result.commandLine.hasSuffix("-rtc base=utc"), "\(result.commandLine)")
            let log = (try? String(contentsOfFile: result.emulatorLog, encoding: .utf8)) ?? ""
            #expect(!log.contains("warning"), "qemu warned: \(log)")
        }

        @Test(
            "nestci run: a hypervisor cell on qemu-tcg is SKIP before it boots; needsVMX false boots it",
            .enabled(if: RealBootTools.qemu && RealBootFixtures.available, RealBootTools.qemuReason))
        func skipBeforeBoot() async throws {
            let fixture = try await FixtureMatrix.make()
            defer { fixture.remove() }
            // mode=hang: had the hypervisor cell booted, it would have run to its deadline.
            try """
                {"name": "vmx-gate",
                 "components": {"fixture": {"kind": "hypervisor", "repository": "kernels", "revision": "main",
                    "build": {"command": "make BITS={bits} OPT='{opt}'", "outputs": {"kernel": "build/{bits}/fixture.bin"}},
                    "boot": {"kernel": "kernel", "handoff": "none"}}},
                 "chains": {
                   "needs-vmx": {"levels": [{"component": "fixture", "cmdline": "mode=hang"}], "verdict": {"pass": ["^FIXTURE PASS$"]}, "timeouts": {"boot": 600}},
                   "no-vmx": {"levels": [{"component": "fixture", "cmdline": "mode=pass"}], "verdict": {"pass": ["^FIXTURE PASS$"]},
                              "timeouts": {"boot": 120}, "emulator": {"needsVMX": false, "qemu-tcg": {"cpu": "Nehalem"}}}},
                 "axes": {"opt": ["O2"], "bits": ["i386"], "backend": ["qemu-tcg"]}}
                """.write(toFile: fixture.matrix, atomically: true, encoding: .utf8)
            let (console, output) = Console.capturing()
            let status = await NestCI.main(["run", fixture.matrix, "--store", fixture.store], console: console)
            #expect(status == 0, "SKIP and PASS are both acceptable: \(output.out)")
            let runID = try #require(try FileManager.default.contentsOfDirectory(atPath: "\(fixture.store)/runs").first)
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .iso8601
            let results = try decoder.decode(RunResults.self, from: Data(contentsOf: URL(fileURLWithPath: "\(fixture.store)/runs/\(runID)/results.json")))
            let skipped = try #require(results.cells.first { $0.chain == "needs-vmx" })
            #expect(skipped.outcome == .skip && skipped.rule == "no-vmx", "\(skipped)")
            #expect(skipped.reason.contains("qemu-tcg offers none here") && skipped.reason.contains("TCG"), "\(skipped.reason)")
            #expect(skipped.attempts == 0 && skipped.bootSeconds == 0 && skipped.secondsToVerdict == 0, "never booted")
            #expect(!FileManager.default.fileExists(atPath: "\(fixture.store)/runs/\(runID)/\(skipped.cellID)/attempt-1"))
            let booted = try #require(results.cells.first { $0.chain == "no-vmx" })
            #expect(booted.outcome == .pass, "\(booted)")
            #expect(booted.emulator == EmulatorSettings(cpu: "Nehalem"), "the settings are in the record")
            #expect(skipped.emulator == nil)
        }
    }
}
