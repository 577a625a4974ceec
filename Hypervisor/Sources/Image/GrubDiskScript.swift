import Foundation

/// ``GrubDiskBuilder``'s steps as POSIX shell, for reproduce.sh on a machine without
/// nestci: the same grub-mkimage and mtools arguments, the same sizes and the same first
/// sector, made from Debian's grub-pc-bin, mtools and coreutils only.
///
/// The lines run in the disk's own folder, which holds `files/<name>` (each file of the
/// spec under its name in `/boot`); they write `grub.cfg`, `early.cfg`, `tag`, `core.img`
/// and the image `disk.img` there.
public enum GrubDiskScript {
    /// Shell lines that build `disk.img` for `spec` (whose `files` keys are the names;
    /// the values are not used: the files are already under `files/`). `tag` names this
    /// disk's tag file; it must differ between the disks of one chain.
    public static func lines(_ spec: GrubDiskSpec, tag: String, grubDirectory: String = "/usr/lib/grub/i386-pc") -> [String] {
        let builder = GrubDiskBuilder(store: "", grubDirectory: grubDirectory)
        let tagPath = "/boot/\(GrubDiskBuilder.tagName(key: tag))"
        let names = spec.files.keys.sorted()
        let fat = GrubDiskBuilder.fatImage("disk.img")
        let start = Int(GrubDiskBuilder.partitionStartSector)
        let gap = (start - 1) * 512
        let q = ShellQuote.quote
        var lines = [
            "export MTOOLS_SKIP_CHECK=1 LC_ALL=C",
            ShellQuote.printfLines(GrubDiskBuilder.earlyConfig(tagPath: tagPath)) + " > early.cfg",
            ShellQuote.printfLines(spec.grubConfig) + " > grub.cfg",
            ShellQuote.printfLines(GrubDiskBuilder.tagName(key: tag) + "\n") + " > tag",
            "grub-mkimage " + ShellQuote.join(
                builder.mkimageArguments(spec, core: "core.img", early: "early.cfg", prefix: GrubDiskBuilder.fallbackPrefix(diskIndex: spec.diskIndex))),
            "core=$(stat -c %s core.img)",
            "[ \"$core\" -le \(gap) ] || { echo \"reproduce.sh: the GRUB core image is $core bytes, more than the \(gap) before the partition\" >&2; exit 1; }",
            "payload=0",
        ]
        lines += names.map { "payload=$((payload + $(stat -c %s \(q("files/\($0)")))))" }
        lines += [
            // GrubDiskBuilder.diskSize(payloadBytes:)
            "part=$((payload + payload / 8 + \(GrubDiskBuilder.partitionSlackBytes)))",
            "[ \"$part\" -ge \(GrubDiskBuilder.minimumPartitionBytes) ] || part=\(GrubDiskBuilder.minimumPartitionBytes)",
            "size=$(( (\(start * 512) + part + \(GrubDiskBuilder.cylinderBytes - 1)) / \(GrubDiskBuilder.cylinderBytes) * \(GrubDiskBuilder.cylinderBytes) ))",
            "rm -f disk.img && truncate -s \"$size\" disk.img",
            "mformat " + ShellQuote.join(GrubDiskBuilder.mformatArguments(fat: fat)),
            "mmd " + ShellQuote.join(["-i", fat] + GrubDiskBuilder.directories(for: names)),
            "mcopy " + ShellQuote.join(["-i", fat, "grub.cfg", "::/boot/grub/grub.cfg"]),
            "mcopy " + ShellQuote.join(["-i", fat, "tag", "::\(tagPath)"]),
        ]
        lines += names.map { "mcopy " + ShellQuote.join(["-i", fat, "files/\($0)", "::/boot/\($0)"]) }
        // The first sector, as MasterBootRecord writes it: boot.img's code, the core's
        // LBA, the forced boot drive, one active FAT partition, 0x55AA.
        typealias Offset = MasterBootRecord.Offset
        let entry = Offset.partitionTable
        var fixed: [(offset: Int, bytes: [UInt8])] = [
            (Offset.kernelSector, le(MasterBootRecord.coreSector, width: 8)),
            (entry, [0x80, 0xfe, 0xff, 0xff, 0x0c, 0xfe, 0xff, 0xff] + le(UInt64(start), width: 4)),
            (Offset.signature, [0x55, 0xaa]),
        ]
        if spec.forceBootDrive { fixed.append((Offset.bootDrive, [UInt8(0x80 + spec.diskIndex)])) }
        lines.append("dd if=\(q("\(grubDirectory)/boot.img")) of=disk.img bs=\(Offset.codeEnd) count=1 conv=notrunc status=none")
        for (offset, bytes) in fixed.sorted(by: { $0.offset < $1.offset }) {
            lines.append("printf '\(octal(bytes))' | dd of=disk.img bs=1 seek=\(offset) conv=notrunc status=none")
        }
        lines += [
            "sectors=$((size / 512 - \(start)))",
            "printf \"$(printf '\\\\%03o\\\\%03o\\\\%03o\\\\%03o' $((sectors & 255)) $((sectors >> 8 & 255)) $((sectors >> 16 & 255)) $((sectors >> 24 & 255)))\" | dd of=disk.img bs=1 seek=\(entry + 12) conv=notrunc status=none",
            "dd if=core.img of=disk.img bs=512 seek=\(MasterBootRecord.coreSector) conv=notrunc status=none",
        ]
        return lines
    }

    private static func le(_ value: UInt64, width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
    }

    /// `printf` octal escapes (dash's printf has no `\x`).
    private static func octal(_ bytes: [UInt8]) -> String {
        bytes.map { "\\" + String($0, radix: 8).leftPadded(3) }.joined()
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
