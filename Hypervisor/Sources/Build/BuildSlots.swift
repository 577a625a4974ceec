/// At most `limit` builds at once, sharing `cores` among them for `{jobs}`.
actor BuildSlots {
    let cores: Int
    private let semaphore: PrioritySemaphore

    init(limit: Int, cores: Int) {
        semaphore = PrioritySemaphore(limit)
        self.cores = max(1, cores)
    }

    var limit: Int { semaphore.limit }

    /// Waits for a slot (first come, first served) and returns the `{jobs}` for the build
    /// that takes it: the cores divided among the builds that will be running, at least 1.
    /// Builds still waiting count, as they are about to start, so the first build does not
    /// take every core. Throws `CancellationError`, holding no slot, when the build's task
    /// is cancelled while it waits: a cancelled run starts no `make` only to kill it.
    func acquire() async throws -> Int {
        try await semaphore.acquire()
        let running = await semaphore.held
        let waiting = await semaphore.waiting
        return max(1, cores / min(limit, running + waiting))
    }

    func release() async {
        await semaphore.release()
    }
}
