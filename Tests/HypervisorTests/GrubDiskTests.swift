import Foundation
import Matrix
import Testing

@testable import Hypervisor

/// Host tools the GRUB disk tests need; CI installs them so these never skip there.
enum GrubTools {
    static func exists(_ tool: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)")
        }
    }

    static let available = ["grub-mkimage", "mformat", "mmd", "mcopy", "mdir"].allSatisfy(exists)
        && FileManager.default.fileExists(atPath: "/usr/lib/grub/i386-pc/boot.img")
}

@Suite("grub.cfg rendering")
struct GrubDiskConfigTests {
    @Test("the default template: GRUB on COM1, multiboot kernel, modules, XMHF64's hand-over, boot")
    func defaultTemplate() throws {
        let config = GrubConfig(
            kernel: "init-x86-amd64.bin", cmdline: "serial=115200,8n1,0x3f8 boot_drive=0x80",
            modules: ["hypervisor-x86-amd64.bin.gz"], handover: .bootSectorModule, diskIndex: 1)
        let text = try config.render()
        #expect(text.contains("serial --unit=0 --speed=115200"))
        #expect(text.contains("terminal_input serial\nterminal_output serial"))
        #expect(text.contains("set timeout=0"))
        #expect(text.contains("multiboot /boot/init-x86-amd64.bin serial=115200,8n1,0x3f8 boot_drive=0x80\nmodule /boot/hypervisor-x86-amd64.bin.gz\nmodule --nounzip (hd2)+1\n"))
        #expect(text.hasSuffix("boot\n"))
    }

    @Test("chainloader and file-module hand-overs")
    func handovers() throws {
        let chain = try GrubConfig(kernel: nil, handover: .chainloader, diskIndex: 0).render()
        #expect(chain.contains("set root=(hd1)\nchainloader +1"))
        #expect(!chain.contains("multiboot"))
        let file = try GrubConfig(kernel: "k.bin", handover: .fileModule("guest.bin"), diskIndex: 0).render()
        #expect(file.contains("multiboot /boot/k.bin\nmodule /boot/guest.bin"))
        #expect(throws: GrubDiskError.self) { try GrubConfig(kernel: "k.bin", handover: .chainloader).render() }
    }

    @Test("custom templates get placeholders; GRUB's own ${var} is left alone")
    func customTemplate() throws {
        let template = "{serial}\nset pager=0\necho ${root} disk {disk} next {nextDisk}\nmultiboot {kernel} {cmdline}\n{modules}\n{next}\nboot\n"
        let text = try GrubConfig(kernel: "x.bin", cmdline: "mode=pass", modules: ["m1", "m2"], handover: .bootSectorModule, diskIndex: 0, template: template).render()
        #expect(text.contains("echo ${root} disk 0 next 1"))
        #expect(text.contains("multiboot /boot/x.bin mode=pass\nmodule /boot/m1\nmodule /boot/m2\nmodule --nounzip (hd1)+1\nboot"))
    }

    @Test("timeout=0 everywhere: a template's menu without a timeout gets one, a template's own timeout stays")
    func templateTimeout() throws {
        let menu = "{serial}\nmenuentry 'x' {\n{load}\n}\n"
        #expect(try GrubConfig(kernel: "x.bin", template: menu).render().hasPrefix("set timeout=0\n"))
        let own = "set timeout=3\n" + menu
        #expect(try GrubConfig(kernel: "x.bin", template: own).render().hasPrefix("set timeout=3\n"))
        #expect(try GrubConfig(kernel: "x.bin").render().components(separatedBy: "timeout").count == 2, "the default sets it once")
    }
}

@Suite("MBR layout")
struct GrubDiskMBRTests {
    @Test("boot.img code, kernel sector 1, forced drive, one partition, 0x55AA")
    func layout() throws {
        var bootImage = [UInt8](repeating: 0x90, count: 512)
        bootImage[0x1fe] = 0x55
        bootImage[0x1ff] = 0xaa
        let mbr = try MasterBootRecord(bootImage: bootImage, partitionStart: 2048, partitionSectors: 8192, partitionType: 0x0c, bootDrive: 0x81)
        #expect(mbr.bytes.count == 512)
        #expect(mbr.bytes[0x64] == 0x81)
        #expect(MasterBootRecord.kernelSector(of: mbr.bytes) == 1)
        let partition = try #require(MasterBootRecord.firstPartition(of: mbr.bytes))
        #expect(partition.type == 0x0c && partition.start == 2048 && partition.sectors == 8192)
        #expect(mbr.bytes[0x1be] == 0x80)
        #expect(throws: GrubDiskError.self) {
            _ = try MasterBootRecord(bootImage: [UInt8](repeating: 0, count: 512), partitionStart: 2048, partitionSectors: 1, partitionType: 0x0c, bootDrive: nil)
        }
    }

    @Test("disk sizes are whole Bochs cylinders with the partition at 1 MiB")
    func sizes() {
        for payload in [0, 100, 3 << 20, 50 << 20] {
            let size = GrubDiskBuilder.diskSize(payloadBytes: payload)
            #expect(size % (16 * 63 * 512) == 0)
            #expect(size >= (1 << 20) + max(4 << 20, payload))
        }
    }
}

@Suite("GRUB disk images", .enabled(if: GrubTools.available, "needs grub-mkimage (grub-pc-bin) and mtools"))
struct GrubDiskImageTests {
    static func scratch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nestci-grubdisk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("a built disk has GRUB's MBR, the partition entry, its core, and the files in the FAT")
    func buildsDisk() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let kernel = "\(scratch)/kernel.bin"
        let module = "\(scratch)/hv.bin.gz"
        try Data("not really a kernel".utf8).write(to: URL(fileURLWithPath: kernel))
        try Data(repeating: 7, count: 300_000).write(to: URL(fileURLWithPath: module))
        let config = try GrubConfig(kernel: "kernel.bin", modules: ["xmhf/hv.bin.gz"], handover: .bootSectorModule, diskIndex: 1).render()
        let spec = GrubDiskSpec(files: ["kernel.bin": kernel, "xmhf/hv.bin.gz": module], grubConfig: config, diskIndex: 1)
        let builder = GrubDiskBuilder(store: "\(scratch)/store")
        let disk = try await builder.build(spec)
        #expect(!disk.reused)
        #expect(disk.path == "\(scratch)/store/disks/\(disk.key).img")

        let image = try Data(contentsOf: URL(fileURLWithPath: disk.path))
        let sector0 = [UInt8](image.prefix(512))
        #expect(sector0[510] == 0x55 && sector0[511] == 0xaa)
        let partition = try #require(MasterBootRecord.firstPartition(of: sector0))
        #expect(partition.start == 2048 && partition.type == 0x0c)
        #expect(Int(partition.start + partition.sectors) * 512 == image.count)
        #expect(MasterBootRecord.kernelSector(of: sector0) == 1)
        #expect(sector0[0x64] == 0x81, "disk 1 reads its core from BIOS drive 0x81")
        let boot = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "/usr/lib/grub/i386-pc/boot.img")))
        #expect(Array(sector0[0..<0x5c]) == Array(boot[0..<0x5c]), "boot.img's code and BPB area are kept")
        // The core image (diskboot.img first) sits from sector 1 on: its blocklist says
        // the rest follows at sector 2.
        #expect(image[512 + 0x1f4] == 2)

        let listing = try await SupervisedProcess.run(ProcessSpec("mdir", ["-i", "\(disk.path)@@1M", "-/", "-b", "::/boot"]))
        #expect(listing.succeeded, "\(listing.output)")
        for path in ["::/boot/kernel.bin", "::/boot/xmhf/hv.bin.gz", "::/boot/grub/grub.cfg", "::/boot/\(GrubDiskBuilder.tagName(key: disk.key))"] {
            #expect(listing.output.contains(path), "\(path) missing from \(listing.output)")
        }
        let cfg = try await SupervisedProcess.run(ProcessSpec("mtype", ["-i", "\(disk.path)@@1M", "::/boot/grub/grub.cfg"]))
        #expect(cfg.output.contains("module --nounzip (hd2)+1"))

        // Same inputs: the cached image comes back untouched; other inputs: another image.
        let again = try await builder.build(spec)
        #expect(again.reused && again.key == disk.key)
        var changed = spec
        changed.grubConfig += "\n# changed\n"
        let other = try await builder.build(changed)
        #expect(!other.reused && other.key != disk.key)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: "\(scratch)/store/disks").filter { $0.hasPrefix("tmp-") }
        #expect(leftovers.isEmpty, "temporary folders must be gone: \(leftovers)")
    }

    @Test("a missing input file says which level to build")
    func missingInput() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let spec = GrubDiskSpec(files: ["k.bin": "\(scratch)/nope.bin"], grubConfig: "boot\n")
        let error = await #expect(throws: GrubDiskError.self) { try await GrubDiskBuilder(store: scratch).build(spec) }
        #expect(error?.code == .missingInput)
        #expect(error?.message.contains("build that level first") == true)
        let badName = GrubDiskSpec(files: ["../k.bin": "/etc/hostname"], grubConfig: "boot\n")
        await #expect(throws: GrubDiskError.self) { try await GrubDiskBuilder(store: scratch).build(badName) }
    }
}
