/// One backend's emulator settings for a cell, resolved from its chain's `emulator` key:
/// the CPU model, qemu's machine type, and extra qemu arguments or bochsrc lines.
///
/// Pure data, validated when the matrix is loaded (``EmulatorSettingsRules``): no host
/// paths and nothing that opens a port, so a cell's boot stays hermetic and its
/// reproduce.sh runs anywhere. The emulator backends append these to the configuration
/// they generate; they are part of the cell's record (results.json, `plan --json`).
public struct EmulatorSettings: Sendable, Hashable, Codable {
    /// qemu `-cpu` value or Bochs `cpu: model=`; nil keeps the backend's default.
    public var cpu: String?
    /// qemu `-machine` value; nil keeps `pc`. Bochs has none.
    public var machine: String?
    /// qemu: extra arguments, one argv element each. Bochs: extra bochsrc lines.
    public var extra: [String]

    public init(cpu: String? = nil, machine: String? = nil, extra: [String] = []) {
        self.cpu = cpu
        self.machine = machine
        self.extra = extra
    }

    /// Nothing set: the backend's defaults.
    public var isEmpty: Bool { cpu == nil && machine == nil && extra.isEmpty }

    /// `cpu=Westmere machine=q35 +2 args`, for summaries.
    public var summary: String {
        var parts: [String] = []
        if let cpu { parts.append("cpu=\(cpu)") }
        if let machine { parts.append("machine=\(machine)") }
        if !extra.isEmpty { parts += extra }
        return parts.joined(separator: " ")
    }
}

/// A chain's `emulator` key: settings per backend, and whether its cells need VMX.
public struct ChainEmulator: Sendable, Equatable {
    /// `bochs`: `cpu` and `lines`.
    public var bochs: EmulatorSettings?
    /// `qemu`: applies to qemu-kvm and qemu-tcg.
    public var qemu: EmulatorSettings?
    /// `qemu-kvm` / `qemu-tcg`: per accelerator; their `cpu`/`machine` replace `qemu`'s,
    /// their `args` come after `qemu`'s.
    public var qemuKVM: EmulatorSettings?
    public var qemuTCG: EmulatorSettings?
    /// `needsVMX`: nil = the default, true when some level is a hypervisor. False for a
    /// hypervisor that runs without VMX (an SVM one on qemu-tcg, say).
    public var needsVMX: Bool?

    public init(
        bochs: EmulatorSettings? = nil, qemu: EmulatorSettings? = nil, qemuKVM: EmulatorSettings? = nil,
        qemuTCG: EmulatorSettings? = nil, needsVMX: Bool? = nil
    ) {
        self.bochs = bochs
        self.qemu = qemu
        self.qemuKVM = qemuKVM
        self.qemuTCG = qemuTCG
        self.needsVMX = needsVMX
    }

    /// The settings a cell on `backend` boots with; nil when the chain sets none.
    public func settings(for backend: Backend) -> EmulatorSettings? {
        let resolved: EmulatorSettings?
        switch backend {
        case .bochs: resolved = bochs
        case .qemuKVM, .qemuTCG:
            let specific = backend == .qemuKVM ? qemuKVM : qemuTCG
            guard let base = qemu else {
                resolved = specific
                break
            }
            guard let specific else {
                resolved = base
                break
            }
            resolved = EmulatorSettings(
                cpu: specific.cpu ?? base.cpu, machine: specific.machine ?? base.machine, extra: base.extra + specific.extra)
        }
        return resolved?.isEmpty == false ? resolved : nil
    }
}
