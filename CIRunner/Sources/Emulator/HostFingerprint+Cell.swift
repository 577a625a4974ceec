import Matrix

extension HostFingerprint {
    /// Why `cell` must not boot here, or nil when it may: a cell that needs VMX on a
    /// backend that offers none would only run to its deadline (or halt on a line about
    /// VT, EPT or nested paging), so it is SKIPped before it boots, with this reason.
    public func vmxSkipReason(for cell: Cell) -> String? {
        guard cell.needsVMX else { return nil }
        let support = vmxSupport(for: cell.backend, cpuModel: cell.emulator?.cpu)
        guard !support.supported else { return nil }
        return "not booted: the chain needs VMX and \(cell.backend.rawValue) offers none here (\(support.reason))"
    }

    /// ``vmxSupport(for:)`` for a chosen CPU model: under Bochs the model decides, and
    /// some have no VMX at all (the AMD ones, the Pentiums, the Atom N270).
    public func vmxSupport(for backend: Backend, cpuModel: String?) -> (supported: Bool, reason: String) {
        let support = vmxSupport(for: backend)
        guard backend == .bochs, let cpuModel, cpuModel != BochsEmulator.defaultCPUModel, capability(for: backend)?.available == true else {
            return support
        }
        if BochsEmulator.modelsWithoutVMX.contains(cpuModel) {
            return (false, "the Bochs CPU model \(cpuModel) has no VMX; choose an Intel model with VT-x, e.g. \(BochsEmulator.defaultCPUModel)")
        }
        // A model this Bochs lacks cannot start at all: leave that to the boot, whose
        // INFRA verdict quotes Bochs' own words.
        return (true, "Bochs emulates VMX with \(cpuModel)")
    }
}
