/// An optimisation level, the `opt` axis.
public enum OptLevel: String, Sendable, Codable, CaseIterable, Comparable {
    case O0, O1, O2, O3, Os, Og

    /// The compiler flag, e.g. `-O3`.
    public var flag: String { "-" + rawValue }

    public static func < (lhs: OptLevel, rhs: OptLevel) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A bitness, the `bits` axis. Named as XMHF64 names its subarchitectures.
public enum Bits: String, Sendable, Codable, CaseIterable, Comparable {
    case i386, amd64

    /// The gcc multilib flag.
    public var gccFlag: String { self == .i386 ? "-m32" : "-m64" }

    /// Whether a level of this bitness can run one of `inner` bitness as its guest:
    /// a 32-bit VMM cannot enter an IA-32e-mode guest.
    public func canHost(_ inner: Bits) -> Bool { self == .amd64 || inner == .i386 }

    public static func < (lhs: Bits, rhs: Bits) -> Bool { lhs == .i386 && rhs == .amd64 }
}

/// Where a cell boots, the `backend` axis.
public enum Backend: String, Sendable, Codable, CaseIterable {
    /// qemu with KVM: fast on a host with `kvm_intel nested=1`; VMX only there.
    case qemuKVM = "qemu-kvm"
    /// qemu with TCG: boots anywhere, never offers VMX.
    case qemuTCG = "qemu-tcg"
    /// Bochs 2.7 emulating an Intel CPU with VMX and EPT: slow but VMX everywhere.
    case bochs
}
