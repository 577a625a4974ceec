/// The first sector of a nestci disk: GRUB's `boot.img` code, one partition entry and
/// the 0x55AA signature. Pure bytes in, bytes out, so the layout is testable without GRUB.
public struct MasterBootRecord: Sendable, Equatable {
    /// Offsets inside GRUB 2's `boot.img` (grub/include/grub/i386/pc/boot.h).
    enum Offset {
        /// 8-byte LBA of the first core-image sector (`GRUB_BOOT_MACHINE_KERNEL_SECTOR`).
        static let kernelSector = 0x5c
        /// BIOS drive to read the core from; 0xff means "the one in DL".
        static let bootDrive = 0x64
        /// Where the partition table starts: boot code must end before it.
        static let partitionTable = 0x1be
        /// Boot code ends here (the disk signature follows).
        static let codeEnd = 0x1b8
        static let signature = 0x1fe
    }

    /// The LBA where the core image starts (sector 1, right after this one).
    public static let coreSector: UInt64 = 1

    public private(set) var bytes: [UInt8]

    /// Builds the sector from `bootImage` (GRUB's 512-byte `boot.img`) and one bootable
    /// FAT partition. `bootDrive` forces the BIOS drive GRUB reads its core from; nil
    /// keeps GRUB's default (use DL from whoever started the sector).
    public init(bootImage: [UInt8], partitionStart: UInt32, partitionSectors: UInt32, partitionType: UInt8, bootDrive: UInt8?) throws {
        guard bootImage.count == 512, bootImage[0x1fe] == 0x55, bootImage[0x1ff] == 0xaa else {
            throw GrubDiskError(.badBootImage, "boot.img is not a 512-byte boot sector ending in 0x55AA; reinstall grub-pc-bin")
        }
        var sector = [UInt8](repeating: 0, count: 512)
        sector.replaceSubrange(0..<Offset.codeEnd, with: bootImage[0..<Offset.codeEnd])
        // The core follows this sector; boot.img's default already says 1, but write it
        // so a different boot.img default cannot silently point elsewhere.
        Self.putLE(&sector, at: Offset.kernelSector, Self.coreSector, width: 8)
        if let bootDrive { sector[Offset.bootDrive] = bootDrive }
        let entry = Offset.partitionTable
        sector[entry] = 0x80  // active
        // CHS fields saturated: every BIOS we boot uses LBA.
        sector.replaceSubrange((entry + 1)..<(entry + 4), with: [0xfe, 0xff, 0xff])
        sector[entry + 4] = partitionType
        sector.replaceSubrange((entry + 5)..<(entry + 8), with: [0xfe, 0xff, 0xff])
        Self.putLE(&sector, at: entry + 8, UInt64(partitionStart), width: 4)
        Self.putLE(&sector, at: entry + 12, UInt64(partitionSectors), width: 4)
        sector[Offset.signature] = 0x55
        sector[Offset.signature + 1] = 0xaa
        bytes = sector
    }

    /// Reads back the first partition entry: (type, start LBA, sector count).
    public static func firstPartition(of sector: [UInt8]) -> (type: UInt8, start: UInt32, sectors: UInt32)? {
        guard sector.count >= 512, sector[Offset.signature] == 0x55, sector[Offset.signature + 1] == 0xaa else { return nil }
        let entry = Offset.partitionTable
        return (sector[entry + 4], UInt32(getLE(sector, at: entry + 8, width: 4)), UInt32(getLE(sector, at: entry + 12, width: 4)))
    }

    /// The LBA boot.img will load the core image from.
    public static func kernelSector(of sector: [UInt8]) -> UInt64 { getLE(sector, at: Offset.kernelSector, width: 8) }

    static func putLE(_ bytes: inout [UInt8], at offset: Int, _ value: UInt64, width: Int) {
        for index in 0..<width { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(index))) }
    }

    static func getLE(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64 {
        (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }
}
