/// Serialises the changes git makes to each mirror within this process: clone, fetch,
/// `worktree add`, `worktree remove`, `worktree prune`.
///
/// Two runs at once (a nightly and a push-triggered run) would otherwise fetch the same
/// mirror concurrently, and git fails on its ref locks; and a `worktree prune` that runs
/// while another build's `worktree add` is half-way deletes the new worktree's admin
/// folder. Reading (rev-parse) needs no gate.
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
