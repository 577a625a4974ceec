import Matrix

/// What the host offered when a run started, stored with every run so a result can be
/// read against the machine that produced it.
public struct HostFingerprint: Sendable, Hashable, Codable {
    public var hostname: String
    public var kernel: String
    public var cpuModel: String
    /// `vmx` (Intel) or `svm` (AMD) in /proc/cpuinfo's flags.
    public var cpuVMX: Bool
    public var cpuSVM: Bool
    /// /dev/kvm exists.
    public var kvmPresent: Bool
    /// /dev/kvm opens read-write for us.
    public var kvmUsable: Bool
    /// `/sys/module/kvm_intel/parameters/nested` (`Y`/`1`), nil when the module is not loaded.
    public var kvmNested: String?
    public var qemuVersion: String?
    public var bochsVersion: String?
    /// Bochs CPU models from `bochs-bin --help cpu`.
    public var bochsCPUModels: [String]
    public var grubVersion: String?
    /// Per backend (keyed by ``Backend`` raw value, so it encodes as a JSON object): can
    /// it boot at all, can it offer VMX, and why not.
    public var backends: [String: BackendCapability]

    /// The probe's findings for `backend`.
    public func capability(for backend: Backend) -> BackendCapability? { backends[backend.rawValue] }

    /// Whether `backend` can boot anything here, and why not.
    public func availability(of backend: Backend) -> (available: Bool, reason: String) {
        guard let capability = capability(for: backend) else { return (false, "\(backend.rawValue) was not probed") }
        return (capability.available, capability.reason)
    }

    /// Whether a cell that needs VMX can run on `backend`, and the reason when it cannot
    /// (a SKIP reason, never a FAIL).
    public func vmxSupport(for backend: Backend) -> (supported: Bool, reason: String) {
        guard let capability = capability(for: backend) else { return (false, "\(backend.rawValue) was not probed") }
        guard capability.available else { return (false, capability.reason) }
        return (capability.canRunVMX, capability.vmxReason)
    }
}

/// One backend on this host.
public struct BackendCapability: Sendable, Hashable, Codable {
    /// The backend can boot something here (binary, BIOS files, /dev/kvm for KVM).
    public var available: Bool
    /// Why it is (not) available, in words for a report.
    public var reason: String
    /// Guests get VMX: qemu-tcg never; qemu-kvm with a usable /dev/kvm, vmx and nested
    /// KVM; Bochs with a CPU model that has VMX.
    public var canRunVMX: Bool
    public var vmxReason: String

    public init(available: Bool, reason: String, canRunVMX: Bool, vmxReason: String) {
        self.available = available
        self.reason = reason
        self.canRunVMX = canRunVMX
        self.vmxReason = vmxReason
    }
}
