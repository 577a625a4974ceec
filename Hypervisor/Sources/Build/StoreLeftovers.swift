import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds and removes what a killed nestci left in a store — build staging folders,
/// replaced build objects, worktrees, half-made disks — without touching anything a live
/// process may be using.
///
/// Every builder holds `builds/.locks/store.lock` shared for its life. A start that can
/// take it exclusively is alone on the store and cleans everything that is not a complete
/// build; otherwise it removes only leftovers whose owner, named by the pid in the
/// leftover's name, is dead. The kernel releases a `flock` when its holder dies, so a
/// SIGKILLed process never blocks the next start.
public enum StoreLeftovers {
    /// Cleans `store` and returns the shared use lock to hold while building in it (nil
    /// when the lock file cannot be made; cleaning then keeps to dead owners only).
    ///
    /// - Parameter log: told what was removed.
    public static func claim(store: URL, log: (@Sendable (String) -> Void)? = nil) async -> FileLock? {
        let cache = BuildCache(store: store)
        let path = cache.locks.appendingPathComponent("store.lock").path
        let exclusive = try? FileLock.attempt(path)
        let alone = exclusive != nil
        var removed = cache.removeLeftovers(alone: alone).map { "builds/\($0)" }
        removed += await removeWorktrees(store: store, alone: alone)
        removed += removeDiskTemporaries(store: store, alone: alone)
        if !removed.isEmpty {
            log?("removed \(removed.count) leftover(s) of killed nestci processes: \(removed.prefix(8).joined(separator: ", "))")
        }
        if let exclusive {
            // flock(2) may let go for a moment while converting; nothing has been read yet.
            exclusive.downgrade()
            return exclusive
        }
        return try? await FileLock.acquire(path, shared: true)
    }

    /// Worktree folders are `w-<pid>-<cacheKey>-<random>`; kept ones (`keep-…`, asked for
    /// with --keep-worktrees) and folders of older nestci versions are never removed.
    static func worktreeName(cacheKey: String, keep: Bool) -> String {
        let random = UUID().uuidString.prefix(6)
        return keep ? "keep-\(cacheKey)-\(random)" : "w-\(getpid())-\(cacheKey)-\(random)"
    }

    /// A half-made disk's folder in `<store>/disks`: `tmp-<pid>-<key>-<random>`.
    static func diskTemporaryName(key: String) -> String {
        "tmp-\(getpid())-\(key.prefix(16))-\(UUID().uuidString)"
    }

    /// True when the leftover named `<kind>-<pid>-…` may go: its process is gone, or
    /// (`alone`) it is not this process's. A name without a pid (an older nestci's) goes
    /// only when alone.
    static func ownerIsGone(_ name: String, alone: Bool) -> Bool {
        let parts = name.split(separator: "-", maxSplits: 2)
        guard parts.count >= 2, let pid = Int32(parts[1]), pid > 0, pid <= 4_194_304 else { return alone }
        if pid == getpid() { return false }
        return alone || !isAlive(pid)
    }

    static func isAlive(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    private static func removeWorktrees(store: URL, alone: Bool) async -> [String] {
        let folder = store.appendingPathComponent("worktrees")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix("w-") && ownerIsGone(name, alone: alone) {
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil {
                removed.append("worktrees/\(name)")
            }
        }
        // `git worktree prune` races another process's `worktree add` (it deletes the new
        // worktree's admin folder), so git's records are pruned only when alone.
        if alone, !removed.isEmpty {
            let mirrors = store.appendingPathComponent("mirrors")
            for mirror in (try? FileManager.default.contentsOfDirectory(atPath: mirrors.path)) ?? [] where mirror.hasSuffix(".git") {
                let path = mirrors.appendingPathComponent(mirror).path
                try? await MirrorGate.shared.serialised(path) {
                    // Best effort: git forgets a missing worktree on its own later too.
                    _ = try? await Git.run(["--git-dir", path, "worktree", "prune"])
                }
            }
        }
        return removed
    }

    private static func removeDiskTemporaries(store: URL, alone: Bool) -> [String] {
        let folder = store.appendingPathComponent("disks")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix("tmp-") && ownerIsGone(name, alone: alone) {
            if (try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))) != nil {
                removed.append("disks/\(name)")
            }
        }
        return removed
    }
}
