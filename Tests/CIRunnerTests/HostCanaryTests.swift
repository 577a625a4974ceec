import Foundation
@testable import Hypervisor
import Matrix
import Testing

@testable import CIRunner

extension RealBootSuite {
    // One emulator at a time with the other real boots: the two cores are shared.
    /// The host canary boots for real: a known-good kernel through a GRUB disk on each backend.
    @Suite("Host canary", .serialized, .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
    struct HostCanaryTests {
        static func folder(_ label: String) throws -> String {
            let folder = "\(RealBootRun.root)/canary-\(label)-\(UUID().uuidString.prefix(8))"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            return folder
        }

        @Test("the canary kernel is a multiboot image with its marker")
        func kernelImage() {
            let image = CanaryKernel.image
            #expect(Array(image.prefix(4)) == [0x02, 0xB0, 0xAD, 0x1B], "multiboot magic at offset 0")
            let words = (0..<3).map { index in (0..<4).reduce(UInt32(0)) { $0 | UInt32(image[index * 4 + $1]) << (8 * $1) } }
            #expect(words[0] &+ words[1] &+ words[2] == 0, "header checksum")
            #expect(String(decoding: image, as: UTF8.self).contains(CanaryKernel.marker))
        }

        @Test("a working backend boots the canary in seconds", arguments: [Backend.qemuTCG] + (RealBootTools.bochs ? [Backend.bochs] : []))
        func healthy(_ backend: Backend) async throws {
            let folder = try Self.folder("ok")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let failures = await HostCanary().check([backend], store: "\(folder)/store", folder: "\(folder)/canary")
            #expect(failures.isEmpty, "\(failures)")
            let serial = try String(contentsOfFile: "\(folder)/canary/\(backend.rawValue)/serial.txt", encoding: .utf8)
            #expect(serial.contains(CanaryKernel.marker))
        }

        @Test("a broken emulator fails the canary with a reason, and only its backend")
        func broken() async throws {
            let folder = try Self.folder("broken")
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let canary = HostCanary(deadline: .seconds(30)) { backend in
                backend == .qemuTCG ? QemuEmulator(backend: backend, binary: "/bin/false") : Emulators.emulator(for: backend)
            }
            let failures = await canary.check([.qemuTCG], store: "\(folder)/store", folder: "\(folder)/canary")
            let reason = try #require(failures[.qemuTCG])
            #expect(reason.contains("qemu-tcg did not boot a known-good kernel"), "\(reason)")
        }

        /// A qemu that answers `--version` (so the host probe calls it available) but cannot
        /// boot anything, as after a bad upgrade: first on PATH of a real `nestci run --canary`.
        @Test("nestci run --canary: a backend that cannot boot makes its cells INFRA, with no finding", .enabled(if: NestCIBinary.path != nil))
        func brokenBackendCells() async throws {
            let fixture = try await FixtureMatrix.make()
            defer { fixture.remove() }
            let bin = "\(fixture.folder)/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            let real = SupervisedProcess.resolve("qemu-system-x86_64", path: ProcessInfo.processInfo.environment["PATH"])
            let wrapper = "\(bin)/qemu-system-x86_64"
            let script = """
                #!/bin/sh
                [ "$1" = --version ] && exec '\(real)' --version
                echo "qemu: broken by the test" >&2
                exit 1

                """
            try script.write(toFile: wrapper, atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: wrapper)
            let path = "\(bin):\(ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")"
            let result = try await SupervisedProcess.run(
                ProcessSpec(
                    NestCIBinary.path!, ["run", fixture.matrix, "--store", fixture.store, "--canary", "--retries", "0"], environment: ["PATH": path],
                    timeout: .seconds(240)))
            #expect(!result.succeeded, "\(result.output.suffix(800))")
            let store = try ArtifactStore(root: fixture.store)
            let run = try #require(try await store.runs().first)
            let cells = try await store.cells(runID: run.id)
            #expect(cells.count == 16)
            #expect(cells.allSatisfy { $0.outcome == .infra }, "\(cells.map(\.outcome))")
            #expect(cells.allSatisfy { $0.reason.hasPrefix("host canary failed: qemu-tcg did not boot a known-good kernel") }, "\(cells.first?.reason ?? "")")
            #expect(try await store.findings(runID: run.id).isEmpty, "no regression from a broken host")
            #expect(EmulatorProcesses.matching(fixture.folder).isEmpty)
        }
    }
}
