/// Which VMCS a dump shows, in nested virtualization (L0 runs L1, which runs L2).
public enum VMCSKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    /// The L1 hypervisor's own VMCS for its guest.
    case vmcs01 = "VMCS01"
    /// The merged VMCS the L1 hypervisor actually runs the L2 guest with.
    case vmcs02 = "VMCS02"
    /// What the guest hypervisor wrote for its guest (as L1 sees it).
    case vmcs12 = "VMCS12"

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}
