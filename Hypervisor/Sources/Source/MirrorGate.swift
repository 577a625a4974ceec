/// Serialises updates of each mirror within this process.
///
/// One run fetches a mirror once (its ``RevisionResolver`` shares the fetch), but two runs
/// at once (a nightly and a push-triggered run) would otherwise fetch the same mirror
/// concurrently, and git then fails on its ref locks.
actor MirrorGate {
    static let shared = MirrorGate()

    private var tails: [String: Task<Void, Never>] = [:]

    /// Runs `work` after every earlier work on `key` has finished.
    func serialised(_ key: String, _ work: @escaping @Sendable () async throws -> Void) async throws {
        let previous = tails[key]
        let task = Task {
            await previous?.value
            try await work()
        }
        tails[key] = Task { _ = try? await task.value }
        try await task.value
    }
}
