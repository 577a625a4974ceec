/// At most `limit` builds at once, sharing `cores` among them for `{jobs}`.
actor BuildSlots {
    let limit: Int
    let cores: Int
    private var running = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int, cores: Int) {
        self.limit = max(1, limit)
        self.cores = max(1, cores)
    }

    /// Waits for a slot and returns the `{jobs}` for the build that takes it: the cores
    /// divided among the builds that will be running, at least 1. Builds still waiting
    /// count, as they are about to start, so the first build does not take every core.
    func acquire() async -> Int {
        if running < limit {
            running += 1
        } else {
            // `release` hands its slot over directly, so `running` stays as it is.
            await withCheckedContinuation { waiters.append($0) }
        }
        return max(1, cores / min(limit, running + waiters.count))
    }

    func release() {
        if waiters.isEmpty {
            running -= 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
