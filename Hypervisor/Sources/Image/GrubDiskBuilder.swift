import Foundation
import Matrix

#if canImport(Glibc)
    import Glibc
#endif

/// Builds raw BIOS-bootable GRUB disks without root, loop devices or mounts, and keeps
/// them in a content-addressed store.
///
/// Layout: sector 0 = GRUB's `boot.img` + one FAT partition entry + 0x55AA; sectors
/// 1… = the `grub-mkimage -O i386-pc` core image; the FAT partition (mtools) from 1 MiB
/// holding `/boot/<files>`, `/boot/grub/grub.cfg` and a tag file. The core's embedded
/// config finds its own partition by that tag (`search --file`), so it works at any
/// drive position (a level-2 disk booted by chain, not as hd0).
public struct GrubDiskBuilder: Sendable {
    /// The disk store root; images go to `<store>/disks/<key>.img`.
    public var store: String
    /// GRUB's i386-pc platform directory (`boot.img`, modules).
    public var grubDirectory: String
    /// Limit for each GRUB/mtools tool run.
    public var toolTimeout: Duration

    /// Modules built into every core image: disk access, the partition table, FAT,
    /// multiboot (and gzio for `.gz` modules), the serial console, chain loading, the
    /// tag search, and the normal-mode config reader.
    public static let coreModules = [
        "biosdisk", "part_msdos", "fat", "multiboot", "gzio", "normal", "serial", "terminal",
        "configfile", "echo", "chain", "search", "search_fs_file", "test", "halt", "reboot",
    ]

    /// Bumped whenever the layout changes, so old cached images are not reused.
    static let recipeVersion = "nestci-grubdisk-1"
    /// The FAT partition starts at 1 MiB, leaving room for the core image.
    static let partitionStartSector: UInt32 = 2048
    /// Bochs derives a CHS geometry of 16 heads × 63 sectors from a flat image: keep the
    /// size a whole number of cylinders so no sector falls off the end.
    static let cylinderBytes = 16 * 63 * 512
    /// The FAT partition is at least this big, and has this much room beyond the payload's
    /// eighth of FAT overhead (``diskSize(payloadBytes:)``).
    static let minimumPartitionBytes = 4 << 20
    static let partitionSlackBytes = 1 << 20

    public init(store: String, grubDirectory: String = "/usr/lib/grub/i386-pc", toolTimeout: Duration = .seconds(120)) {
        self.store = store
        self.grubDirectory = grubDirectory
        self.toolTimeout = toolTimeout
    }

    /// Returns the cached image for `spec`, building it first when absent or when it no
    /// longer has the size and SHA-256 recorded beside it (`<key>.img.sha256`): a
    /// truncated or damaged image is rebuilt, never booted.
    ///
    /// One process builds a key at a time (a per-key `flock`), so two runs on one store
    /// share a disk instead of racing for it.
    public func build(_ spec: GrubDiskSpec) async throws -> GrubDisk {
        try Self.validate(spec)
        let version = try await grubVersion()
        let key = try cacheKey(spec, grubVersion: version)
        let disks = (store as NSString).appendingPathComponent("disks")
        let final = (disks as NSString).appendingPathComponent("\(key).img")
        let lock: FileLock
        do {
            lock = try await FileLock.acquire((disks as NSString).appendingPathComponent(".locks/\(key).lock"))
        } catch let error as BuildError {
            throw GrubDiskError(.io, error.message)
        }
        defer { withExtendedLifetime(lock) {} }
        if Self.isIntact(final) {
            return GrubDisk(path: final, key: key, reused: true)
        }
        let work = (disks as NSString).appendingPathComponent(StoreLeftovers.diskTemporaryName(key: key))
        do {
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        } catch {
            throw GrubDiskError(.io, "cannot create \(work): \(error.localizedDescription); check the store's permissions and free space")
        }
        defer { try? FileManager.default.removeItem(atPath: work) }
        let image = (work as NSString).appendingPathComponent("disk.img")
        try await assemble(spec, key: key, work: work, image: image)
        // Atomic publish: a reader sees either no image or a complete one. A racing
        // builder of the same key writes identical content, so either rename may win.
        let digest = try Self.fileDigest(image)
        let size = (try? FileManager.default.attributesOfItem(atPath: image)[.size] as? Int) ?? 0
        guard rename(image, final) == 0 else {
            throw GrubDiskError(.io, "cannot move the disk into \(final): \(String(cString: strerror(errno))); check free space")
        }
        // After the image: an image without its matching record is rebuilt, never trusted.
        let record = (work as NSString).appendingPathComponent("record")
        try write("\(digest) \(size)\n", to: record)
        guard rename(record, Self.recordPath(final)) == 0 else {
            throw GrubDiskError(.io, "cannot write \(Self.recordPath(final)): \(String(cString: strerror(errno))); check free space")
        }
        return GrubDisk(path: final, key: key, reused: false)
    }

    /// This disk's own first partition at its planned position.
    static func fallbackPrefix(diskIndex: Int) -> String { "(hd\(diskIndex),msdos1)/boot/grub" }

    /// The core's embedded config: find this disk's partition by its tag file.
    static func earlyConfig(tagPath: String) -> String {
        "search --no-floppy --file --set=root \(tagPath)\nset prefix=($root)/boot/grub\n"
    }

    /// `grub-mkimage`'s arguments for the core image of `spec`.
    func mkimageArguments(_ spec: GrubDiskSpec, core: String, early: String, prefix: String) -> [String] {
        ["-O", "i386-pc", "-d", grubDirectory, "-o", core, "-c", early, "-p", prefix] + Self.coreModules + spec.extraModules
    }

    /// mtools' `-i` image argument: the FAT partition inside the disk image.
    static func fatImage(_ image: String) -> String { "\(image)@@\(Int(partitionStartSector) * 512)" }

    /// A fixed volume serial keeps rebuilt images alike (timestamps still differ).
    static func mformatArguments(fat: String) -> [String] { ["-i", fat, "-N", "4e455354", "-v", "NESTCI", "::"] }

    /// `/boot`, `/boot/grub` and every parent folder of the files, parents first (for `mmd`).
    static func directories(for names: [String]) -> [String] {
        var directories: Set<String> = ["::/boot", "::/boot/grub"]
        for name in names {
            var parent = (name as NSString).deletingLastPathComponent
            while !parent.isEmpty {
                directories.insert("::/boot/\(parent)")
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        return directories.sorted { ($0.count, $0) < ($1.count, $1) }
    }

    /// `<key>.img.sha256`: the image's SHA-256 and size, as it was made.
    static func recordPath(_ image: String) -> String { image + ".sha256" }

    /// True when `image` exists with the size and SHA-256 recorded when it was made.
    static func isIntact(_ image: String) -> Bool {
        guard let text = try? String(contentsOfFile: recordPath(image), encoding: .utf8) else { return false }
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let size = Int(fields[1]) else { return false }
        return FileDigest.matches(path: image, sha256: String(fields[0]), size: size)
    }

    /// The tag file name whose presence identifies a disk's own partition.
    static func tagName(key: String) -> String { "nestci-\(key.prefix(24))" }

    // MARK: - Steps

    private func assemble(_ spec: GrubDiskSpec, key: String, work: String, image: String) async throws {
        let early = (work as NSString).appendingPathComponent("early.cfg")
        let core = (work as NSString).appendingPathComponent("core.img")
        let config = (work as NSString).appendingPathComponent("grub.cfg")
        let tag = (work as NSString).appendingPathComponent("tag")
        let tagPath = "/boot/\(Self.tagName(key: key))"
        // The prefix baked into the core is only a fallback for when the tag search
        // fails: this disk's own first partition at its planned position.
        let fallbackPrefix = Self.fallbackPrefix(diskIndex: spec.diskIndex)
        try write(Self.earlyConfig(tagPath: tagPath), to: early)
        try write(spec.grubConfig, to: config)
        try write(key + "\n", to: tag)
        try await run("grub-mkimage", mkimageArguments(spec, core: core, early: early, prefix: fallbackPrefix))

        let coreBytes = try readBytes(core)
        let gap = Int(Self.partitionStartSector - 1) * 512
        guard coreBytes.count <= gap else {
            throw GrubDiskError(.coreTooLarge, "the GRUB core image is \(coreBytes.count) bytes, more than the \(gap) bytes before the partition; drop extra modules")
        }
        var payload = 0
        for path in spec.files.values { payload += (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        let diskBytes = Self.diskSize(payloadBytes: payload)
        guard FileManager.default.createFile(atPath: image, contents: nil), truncate(image, off_t(diskBytes)) == 0 else {
            throw GrubDiskError(.io, "cannot create a \(diskBytes)-byte image at \(image): \(String(cString: strerror(errno))); check free space")
        }

        let fat = Self.fatImage(image)
        try await run("mformat", Self.mformatArguments(fat: fat))
        try await run("mmd", ["-i", fat] + Self.directories(for: Array(spec.files.keys)))
        try await run("mcopy", ["-i", fat, config, "::/boot/grub/grub.cfg"])
        try await run("mcopy", ["-i", fat, tag, "::\(tagPath)"])
        for (name, path) in spec.files.sorted(by: { $0.key < $1.key }) {
            try await run("mcopy", ["-i", fat, path, "::/boot/\(name)"])
        }

        let bootImage = try readBytes((grubDirectory as NSString).appendingPathComponent("boot.img"))
        let mbr = try MasterBootRecord(
            bootImage: bootImage, partitionStart: Self.partitionStartSector,
            partitionSectors: UInt32(diskBytes / 512) - Self.partitionStartSector,
            partitionType: 0x0c, bootDrive: spec.forceBootDrive ? UInt8(0x80 + spec.diskIndex) : nil)
        try pwriteAll(image, mbr.bytes + coreBytes, at: 0)
    }

    /// Disk size for `payloadBytes` of files: the 1 MiB gap, the payload with room for
    /// FAT overhead, at least 4 MiB of partition, rounded up to whole Bochs cylinders.
    static func diskSize(payloadBytes: Int) -> Int {
        let partition = max(minimumPartitionBytes, payloadBytes + payloadBytes / 8 + partitionSlackBytes)
        let raw = Int(partitionStartSector) * 512 + partition
        return (raw + cylinderBytes - 1) / cylinderBytes * cylinderBytes
    }

    // MARK: - Inputs

    static func validate(_ spec: GrubDiskSpec) throws {
        guard (0..<8).contains(spec.diskIndex) else {
            throw GrubDiskError(.missingInput, "disk index \(spec.diskIndex) is out of range (0...7: BIOS drives 0x80...0x87)")
        }
        for (name, path) in spec.files {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            guard !name.isEmpty, !name.hasPrefix("/"), !parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }),
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.+/".contains($0)) }), !name.hasPrefix("grub/")
            else {
                throw GrubDiskError(.missingInput, "file name \"\(name)\" cannot go under /boot: use letters, digits, - _ . + and / between names (and not grub/)")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw GrubDiskError(.missingInput, "\(name): \(path) does not exist or is a directory; build that level first")
            }
        }
    }

    func cacheKey(_ spec: GrubDiskSpec, grubVersion: String) throws -> String {
        var hasher = SHA256()
        func field(_ text: String) { hasher.update(Array("\(text.utf8.count):\(text)\n".utf8)) }
        field(Self.recipeVersion)
        field(grubVersion)
        field(try Self.fileDigest((grubDirectory as NSString).appendingPathComponent("boot.img")))
        field((Self.coreModules + spec.extraModules).joined(separator: " "))
        field("disk=\(spec.diskIndex) force=\(spec.forceBootDrive)")
        field(spec.grubConfig)
        for (name, path) in spec.files.sorted(by: { $0.key < $1.key }) {
            field(name)
            field(try Self.fileDigest(path))
        }
        return hasher.hexDigest
    }

    /// SHA-256 of a file, read in chunks so large guest kernels do not sit in memory.
    public static func fileDigest(_ path: String) throws -> String {
        guard let digest = try FileDigest.sha256(path: path) else {
            throw GrubDiskError(.missingInput, "cannot read \(path); check that it exists and is readable")
        }
        return digest.hex
    }

    private static let versionCache = Mutex<[String: String]>([:])

    /// `grub-mkimage --version`, asked once per process.
    func grubVersion() async throws -> String {
        if let known = Self.versionCache.withLock({ $0[grubDirectory] }) { return known }
        let output = try await run("grub-mkimage", ["--version"])
        let version = output.trimmingCharacters(in: .whitespacesAndNewlines)
        Self.versionCache.withLock { $0[grubDirectory] = version }
        return version
    }

    // MARK: - Helpers

    @discardableResult
    private func run(_ tool: String, _ arguments: [String]) async throws -> String {
        let spec = ProcessSpec(
            tool, arguments, environment: ["MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C"], timeout: toolTimeout,
            outputLimit: 64 << 10)
        let result: ProcessResult
        do {
            result = try await SupervisedProcess.run(spec)
        } catch let error as ProcessLaunchError {
            // Refused because nestci is shutting down: nothing to install.
            if error.errno == ECANCELED { throw CancellationError() }
            let package = tool.hasPrefix("grub") ? "grub-pc-bin and grub-common" : "mtools"
            throw GrubDiskError(.missingTool, "\(error.description); install \(package)")
        }
        guard result.succeeded else {
            throw GrubDiskError(.toolFailed, "\(spec.commandLine) failed (\(result.summary)): \(result.output.suffix(2000))")
        }
        return result.output
    }

    private func write(_ text: String, to path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw GrubDiskError(.io, "cannot write \(path); check free space")
        }
    }

    private func readBytes(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GrubDiskError(.missingInput, "cannot read \(path); is grub-pc-bin installed?")
        }
        return [UInt8](data)
    }

    private func pwriteAll(_ path: String, _ bytes: [UInt8], at offset: off_t) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw GrubDiskError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw GrubDiskError(.io, "cannot write \(path): \(String(cString: strerror(errno))); check free space")
        }
    }
}
