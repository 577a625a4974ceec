import Matrix

/// One disk of a chain, as attached to the emulator.
public struct BootDisk: Sendable, Hashable, Codable {
    public enum Format: String, Sendable, Hashable, Codable {
        case raw, qcow2
    }

    /// A built GRUB disk from the store, or a prebuilt guest image. Either way the
    /// emulator only ever writes to a throw-away overlay, never to this file.
    public var path: String
    public var format: Format

    public init(path: String, format: Format = .raw) {
        self.path = path
        self.format = format
    }
}

/// Everything an emulator backend needs to boot one cell's chain.
public struct BootPlan: Sendable, Hashable {
    public var backend: Backend
    /// In chain order: disk 0 is the L1 level (BIOS drive 0x80), disk 1 the next, …
    public var disks: [BootDisk]
    /// Guest CPUs.
    public var smp: Int
    /// Guest memory. XMHF64 needs 1024 ("unable to find E820 memory" at 512).
    public var memoryMiB: Int
    /// CPU model; nil picks the backend's default (``QemuEmulator/defaultCPU(for:)``,
    /// ``BochsEmulator/defaultCPUModel``).
    public var cpuModel: String?
    /// qemu's machine type; nil picks `pc`. Bochs ignores it.
    public var machine: String?
    /// Extra qemu arguments, or extra bochsrc lines, appended as given.
    public var extraArguments: [String]

    public init(
        backend: Backend, disks: [BootDisk], smp: Int = 1, memoryMiB: Int = 1024, cpuModel: String? = nil,
        machine: String? = nil, extraArguments: [String] = []
    ) {
        self.backend = backend
        self.disks = disks
        self.smp = smp
        self.memoryMiB = memoryMiB
        self.cpuModel = cpuModel
        self.machine = machine
        self.extraArguments = extraArguments
    }

    /// The plan for `cell` on `disks`: its backend, CPUs, memory and the matrix's emulator
    /// settings. The one way from a cell to an emulator configuration, for the run and
    /// for its reproducer alike.
    public init(cell: Cell, disks: [BootDisk]) {
        self.init(
            backend: cell.backend, disks: disks, smp: cell.smp, memoryMiB: cell.memoryMiB, cpuModel: cell.emulator?.cpu,
            machine: cell.emulator?.machine, extraArguments: cell.emulator?.extra ?? [])
    }
}
