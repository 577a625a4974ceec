import CSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every process group nestci currently supervises, so that an interrupt of nestci
/// itself (SIGINT, SIGTERM) can tear all of them down before it exits.
///
/// nestci is also a child subreaper: a grandchild orphaned when its group is killed is
/// re-parented to nestci instead of init, and a sweeper reaps it, so no zombie is left
/// even where init does not reap (containers).
public final class ProcessRegistry: Sendable {
    public static let shared = ProcessRegistry()
    private let groups = Mutex<Set<Int32>>([])
    /// Set once nestci is shutting down: no new child may start after the teardown
    /// snapshot, or it would outlive nestci.
    private let closed = Mutex(false)

    private init() {
        _ = nestci_set_child_subreaper()
        let sweeper = Thread { [self] in
            while true {
                usleep(100_000)
                sweepOrphans()
            }
        }
        sweeper.name = "nestci-orphan-reaper"
        sweeper.start()
    }

    /// Runs `spawn` and records its pid under one lock, so the orphan sweeper never
    /// mistakes a fresh leader for an orphan.
    func register(_ spawn: () throws -> Int32) throws -> Int32 {
        try groups.withLock { groups in
            if closed.withLock({ $0 }) { throw ProcessLaunchError(executable: "(new process)", errno: ECANCELED) }
            let pid = try spawn()
            groups.insert(pid)
            return pid
        }
    }

    func remove(_ pid: Int32) { groups.withLock { _ = $0.remove(pid) } }

    /// Process groups still running under supervision.
    public var live: Set<Int32> { groups.withLock { $0 } }

    /// SIGTERM to every group, SIGKILL to those still there after `grace`, then waits for
    /// the watchers to reap them. Meant for the moment nestci is interrupted.
    public func terminateAll(grace: Duration = .seconds(2)) {
        // Close under the registry lock: a spawn in progress finishes and is in `live`,
        // any later one is refused.
        groups.withLock { _ in closed.withLock { $0 = true } }
        for pid in live { kill(-pid, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !live.isEmpty { usleep(20_000) }
        for pid in live { kill(-pid, SIGKILL) }
        let reapDeadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < reapDeadline, !live.isEmpty { usleep(10_000) }
    }

    /// Reaps children of ours that no watcher owns: orphans re-parented to us.
    private func sweepOrphans() {
        groups.withLock { leaders in
            for child in Self.children() where !leaders.contains(child) {
                var status: Int32 = 0
                _ = waitpid(child, &status, WNOHANG)
            }
        }
    }

    /// This process's children, from /proc (every thread's list: a re-parented orphan
    /// can be listed under any of them).
    private static func children() -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else {
            return []
        }
        var result: [Int32] = []
        for task in tasks {
            guard let text = readSmallFile("/proc/self/task/\(task)/children") else { continue }
            result += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return result
    }

    /// A small file's content through read(2). Not String(contentsOfFile:) nor
    /// FileManager.contents: on Linux (Foundation of Swift 6.3) both leak their 4 KiB buffer
    /// when a file reads empty, as a /proc `children` list mostly does; at 10 sweeps a second
    /// times every thread that grew nestci's RSS by about 0.4 MB/s while boots ran.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
