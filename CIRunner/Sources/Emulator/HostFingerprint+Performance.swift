import Matrix

extension HostFingerprint {
    /// What must be equal for two boots' timings to be comparable: the machine (host name,
    /// CPU model, kernel) and the emulator's version. A new qemu or kernel starts a new
    /// history instead of reading as the hypervisor's change.
    public func performanceKey(for backend: Backend) -> String {
        let emulator = backend == .bochs ? bochsVersion : qemuVersion
        return [hostname, cpuModel, kernel, "\(backend.rawValue) \(emulator ?? "?")"].joined(separator: " | ")
    }

    /// ``performanceKey(for:)`` of every backend, keyed by its raw value: what a run's
    /// timings are compared under (``PerformanceAnalyzer/hostKeys``).
    public var performanceKeys: [String: String] {
        Dictionary(uniqueKeysWithValues: Backend.allCases.map { ($0.rawValue, performanceKey(for: $0)) })
    }
}
