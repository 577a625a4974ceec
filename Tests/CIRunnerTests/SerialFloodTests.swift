import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// A small tmpfs mounted for one test: a disk that fills after `size`. Needs root.
struct SmallDisk {
    let path: String

    static let canMount: Bool = {
        guard getuid() == 0 else { return false }
        guard let probe = try? SmallDisk(size: "64k") else { return false }
        probe.unmount()
        return true
    }()

    init(size: String) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-smalldisk-\(getpid())-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let result = Process()
        result.executableURL = URL(fileURLWithPath: "/bin/mount")
        result.arguments = ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path]
        try result.run()
        result.waitUntilExit()
        guard result.terminationStatus == 0 else {
            try? FileManager.default.removeItem(atPath: path)
            throw UserError("mount -t tmpfs failed")
        }
    }

    func unmount() {
        let result = Process()
        result.executableURL = URL(fileURLWithPath: "/bin/umount")
        result.arguments = ["-l", path]
        try? result.run()
        result.waitUntilExit()
        try? FileManager.default.removeItem(atPath: path)
    }
}

extension RealBootSuite {
    /// Issue 10 §5: whatever the guest prints, the serial capture stays bounded, and a full
    /// disk is INFRA that says what was kept. The fixture kernel's `flood` mode prints
    /// 100-byte lines as fast as qemu's UART takes them.
    @Suite("A guest flooding its serial console", .enabled(if: RealBootFixtures.available, "needs Tests/Fixtures/kernels"))
    struct SerialFloodTests {
        static let neverPass = RealBootFixtures.rules(pass: [PassRule(marker: Marker(name: "never", regex: "^NEVER PRINTED$"))])

        func request(folder: String, deadline: Duration, serialLimit: Int) async throws -> BootRequest {
            let disk = try await RealBootFixtures.shared.disk(.i386, .O2, cmdline: "mode=flood")
            return BootRequest(
                plan: BootPlan(backend: .qemuTCG, disks: [BootDisk(path: disk)], memoryMiB: 128), rules: Self.neverPass, folder: folder,
                deadline: deadline, hostHasVMX: false, serialLimit: serialLimit)
        }

        @Test("qemu-tcg: the raw serial.txt stays within its limit while the guest floods; head and tail kept", .enabled(if: RealBootTools.qemu, RealBootTools.qemuReason))
        func capped() async throws {
            let limit = 128 << 10
            let result = await RealBootRun.boot("flood capped", try await request(folder: RealBootRun.cellFolder("flood"), deadline: .seconds(8), serialLimit: limit))
            #expect(result.verdict.outcome == .timeout, "\(result.verdict)")
            #expect(result.serialBytes > 2 * limit, "the guest printed more than the limit: \(result.serialBytes) bytes")
            #expect(result.serialLines > 2000)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: result.serialLog)[.size] as? Int)
            #expect(size <= limit, "serial.txt is \(size) bytes")
            let text = RealBootRun.serial(result)
            #expect(text.contains("mode=flood"), "the head (GRUB, the banner) is kept")
            #expect(text.contains("bytes cut by nestci ...]"))
            let last = try #require(result.verdict.lastLines.last)
            #expect(text.contains(last + "\n"), "the tail ends with the last lines the verdict saw: \(last)")
        }

        @Test(
            "qemu-tcg: a disk filling up during the boot is INFRA disk-full, at once, saying what was kept",
            .enabled(if: RealBootTools.qemu && SmallDisk.canMount, "needs qemu and root to mount a small tmpfs"))
        func diskFull() async throws {
            let disk = try SmallDisk(size: "768k")
            defer { disk.unmount() }
            let started = ContinuousClock.now
            let result = await RealBootRun.boot("flood disk full", try await request(folder: "\(disk.path)/attempt-1", deadline: .seconds(120), serialLimit: 64 << 20))
            #expect(result.verdict.outcome == .infra, "\(result.verdict)")
            #expect(result.verdict.rule == "disk-full")
            #expect(result.verdict.reason.hasPrefix("disk full: "), "\(result.verdict.reason)")
            #expect(result.verdict.reason.contains("No space left on device"), "\(result.verdict.reason)")
            #expect(result.verdict.reason.contains("kept the first "), "\(result.verdict.reason)")
            #expect(ContinuousClock.now - started < .seconds(100), "decided when the disk filled, not at the deadline")
            // What was kept is there, as a plain file, in order from the start.
            let text = RealBootRun.serial(result)
            #expect(text.contains("flood line 1 "), "the head survives")
            var info = stat()
            #expect(lstat(result.serialLog, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG)
        }
    }
}
