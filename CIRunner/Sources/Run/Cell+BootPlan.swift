import Matrix

extension Cell {
    /// The plan every boot of this cell uses, in one place: the real boot (CellRunner) and
    /// reproduce.sh (ReproduceScript, with its own disks) both take it from here, so every
    /// emulator setting of the cell reaches the reproducer too.
    func bootPlan(disks: [BootDisk]) -> BootPlan {
        BootPlan(cell: self, disks: disks)
    }
}
