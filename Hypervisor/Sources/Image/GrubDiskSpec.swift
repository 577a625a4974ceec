/// What goes on one chain level's disk: files under `/boot` and the `grub.cfg` text.
public struct GrubDiskSpec: Sendable, Hashable {
    /// Logical name under `/boot` (e.g. `init-x86-amd64.bin`, `lhv/lhv.bin`) → host path.
    public var files: [String: String]
    /// The complete `grub.cfg`, usually ``GrubConfig/render()``.
    public var grubConfig: String
    /// Disk N of the chain is BIOS drive 0x80+N.
    public var diskIndex: Int
    /// Writes drive 0x80+N into boot.img, so GRUB loads its core from this disk even
    /// when whatever started the boot sector passed another drive in DL (a hypervisor
    /// booting the sector as its guest with DL=0x80). Turn off for disks that may be
    /// attached at a different position.
    public var forceBootDrive: Bool
    /// GRUB modules beyond ``GrubDiskBuilder/coreModules``.
    public var extraModules: [String]

    public init(files: [String: String], grubConfig: String, diskIndex: Int = 0, forceBootDrive: Bool = true, extraModules: [String] = []) {
        self.files = files
        self.grubConfig = grubConfig
        self.diskIndex = diskIndex
        self.forceBootDrive = forceBootDrive
        self.extraModules = extraModules
    }
}

/// A built disk in the store. Never boot it writable: attach it behind an overlay.
public struct GrubDisk: Sendable, Hashable {
    /// `<store>/disks/<key>.img`.
    public var path: String
    /// SHA-256 of every input (file contents, grub.cfg, GRUB version, recipe).
    public var key: String
    /// True when an existing image was reused instead of built.
    public var reused: Bool
}
