import CSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every process group nestci currently supervises, so that nothing it starts outlives it.
///
/// Four layers, each covering what the one before cannot:
/// 1. Every child gets `PR_SET_PDEATHSIG(SIGKILL)` between fork and exec (``SpawnThread``,
///    `nestci_spawn` in CSupport), so the kernel kills each group leader the moment
///    nestci dies, even by SIGKILL. We use the death signal rather than a cgroup because a
///    cgroup is not writable everywhere nestci runs (containers, CI runners), while prctl is.
/// 2. A watchdog process (`nestci_start_watchdog`) learns every group over a socket; when
///    the socket closes it SIGKILLs the whole groups and every descendant carrying nestci's
///    token (``ProcessTable/tokenVariable``) — the grandchildren the death signal misses.
/// 3. A per-store ``ProcessLedger``: a later nestci on the same store ends what a dead one
///    left, should the watchdog have died with it.
/// 4. nestci is a child subreaper: a descendant that left its group (setsid) is re-parented
///    to nestci when its parents die; a sweeper thread kills such a child once the
///    supervised process it came from has ended, reaps it, and ``terminateAll(grace:)``
///    kills all of them. No zombie is left even where init does not reap (containers).
public final class ProcessRegistry: Sendable {
    public static let shared = ProcessRegistry()

    private struct State {
        /// Group leader → its start time and its token.
        var leaders: [Int32: (start: UInt64, token: String)] = [:]
        /// Set once nestci is shutting down: no new child may start after the teardown
        /// snapshot, or it would outlive nestci.
        var closed = false
        var sequence = 0
        var ledger: ProcessLedger?
        /// What attaching each store's ledger swept, in total.
        var swept: [String: ProcessLedger.Sweep] = [:]
        var watchdog: (pid: Int32, socket: Int32)?
        /// Spawns under way (forked, not yet recorded): the orphan sweeper waits for them,
        /// so it never reaps or kills a fresh child it does not know yet.
        var spawning = 0
    }

    private let state = Mutex(State())
    private let spawner = SpawnThread()
    private let owner: ProcessLedger.Record.Process
    /// `<pid>-<start time>-`: the start of the token of every child of this nestci.
    public let token: String

    private init() {
        _ = nestci_set_child_subreaper()
        owner = .init(pid: getpid(), start: ProcessTable.startTime(getpid()) ?? 0)
        token = "\(owner.pid)-\(owner.start)-"
        let sweeper = Thread { [self] in
            while true {
                usleep(100_000)
                sweepOrphans()
            }
        }
        sweeper.name = "nestci-orphan-reaper"
        sweeper.start()
    }

    /// Runs `spawn` (given the child's token for its environment) on the spawn thread and
    /// records the child under one lock, so the orphan sweeper never mistakes a fresh
    /// leader for an orphan. Returns the child's pid and token.
    func register(_ spawn: @escaping @Sendable (String) throws -> Int32) throws -> (pid: Int32, token: String) {
        try spawner.run { try self.spawnAndRecord(spawn) }
    }

    /// ``register(_:)`` for async callers: the calling task is suspended while the spawn
    /// thread forks, rather than blocking its thread. A blocked thread of the cooperative
    /// pool (two threads on two cores) holds up every other task; with many children
    /// starting at once (a test suite, a matrix's builds) that stalled unrelated work,
    /// such as a webhook's deadline, for tens of seconds.
    func register(_ spawn: @escaping @Sendable (String) throws -> Int32) async throws -> (pid: Int32, token: String) {
        try await spawner.run { try self.spawnAndRecord(spawn) }
    }

    /// On the spawn thread: token, fork, record, one child at a time. `spawning` is raised
    /// only for the fork itself, never while a request waits in line, so the orphan
    /// sweeper (which stands aside while it is raised) keeps running when many children
    /// are asked for at once.
    private func spawnAndRecord(_ spawn: (String) throws -> Int32) throws -> (pid: Int32, token: String) {
        let childToken = try reserveToken()
        let pid: Int32
        do {
            pid = try spawn(childToken)
        } catch {
            state.withLock { $0.spawning -= 1 }
            throw error
        }
        return recordSpawned(pid, token: childToken)
    }

    /// The next child's token, and `spawning` raised. The fork runs outside the registry
    /// lock: the lock is also taken by every child's end, the orphan sweeper and teardown,
    /// and a fork of a large process (or many at once) must not hold them all up.
    /// `spawning` keeps the sweeper off meanwhile.
    private func reserveToken() throws -> String {
        try state.withLock { state -> String in
            if state.closed { throw ProcessLaunchError(executable: "(new process)", errno: ECANCELED) }
            if state.watchdog == nil { state.watchdog = startWatchdog() }
            state.sequence += 1
            state.spawning += 1
            return "\(token)\(state.sequence)"
        }
    }

    private func recordSpawned(_ pid: Int32, token childToken: String) -> (pid: Int32, token: String) {
        let start = ProcessTable.startTime(pid) ?? 0
        return state.withLock { state in
            state.spawning -= 1
            state.leaders[pid] = (start, childToken)
            Self.tell(state.watchdog, add: true, pid)
            if state.closed {
                // Teardown began while it was forking: it must not outlive the snapshot.
                // Recorded first, so its watcher's reap finds it; killed here.
                kill(-pid, SIGKILL)
            }
            write(state)
            return (pid, childToken)
        }
    }

    func remove(_ pid: Int32) {
        state.withLock { state in
            guard state.leaders.removeValue(forKey: pid) != nil else { return }
            Self.tell(state.watchdog, add: false, pid)
            write(state)
        }
    }

    /// Process groups still running under supervision.
    public var live: Set<Int32> { state.withLock { Set($0.leaders.keys) } }

    /// True once ``terminateAll(grace:)`` or ``close()`` ran: whatever ends now was torn
    /// down, and its outcome is not the hypervisor's.
    public var isShuttingDown: Bool { state.withLock { $0.closed } }

    /// Refuses every later child. The first step of tearing nestci down: called before
    /// any group is signalled, so a result that comes from a killed child is known to be
    /// one.
    public func close() { state.withLock { $0.closed = true } }

    /// Ends the strays of dead nestci processes recorded in `store`'s ledger, then records
    /// this process's own children there. Idempotent; call it when a command opens a store.
    /// Returns all that attaching this store swept in this process so far (the command
    /// line attaches before the service has a logger to say so).
    @discardableResult
    public func attachLedger(store: String) -> ProcessLedger.Sweep {
        let ledger = ProcessLedger(store: store)
        let swept = ledger.sweep()
        return state.withLock { state in
            var total = state.swept[ledger.folder] ?? .init()
            total.owners += swept.owners
            total.killed += swept.killed
            state.swept[ledger.folder] = total
            if state.ledger?.folder != ledger.folder {
                state.ledger = ledger
                write(state)
            }
            return total
        }
    }

    /// SIGTERM to every group, SIGKILL to those still there after `grace`, then to every
    /// descendant that left its group, and waits for the watchers to reap them. Meant for
    /// the moment nestci is interrupted.
    public func terminateAll(grace: Duration = .seconds(2)) {
        // Closed under the registry lock: a spawn in progress finishes and is in `live`,
        // any later one is refused.
        close()
        for pid in live { kill(-pid, SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !live.isEmpty { usleep(20_000) }
        for pid in live { kill(-pid, SIGKILL) }
        killStrays()
        let reapDeadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < reapDeadline, !live.isEmpty { usleep(10_000) }
        // Their descendants re-parented to us meanwhile.
        while ContinuousClock.now < reapDeadline, !killStrays().isEmpty { usleep(20_000) }
    }

    /// Kills every descendant of ours outside the supervised groups: those carrying our
    /// token and our children no watcher owns (re-parented to us as the subreaper).
    @discardableResult
    private func killStrays() -> Set<Int32> {
        let (known, watchdog) = state.withLock { (Set($0.leaders.keys), $0.watchdog?.pid) }
        var strays = Set(ProcessTable.carrying(token: token)).union(Self.children())
        strays.subtract(known)
        if let watchdog { strays.remove(watchdog) }
        strays = strays.filter { !ProcessTable.isZombie($0) || isChild($0) }
        for pid in strays {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, WNOHANG)
        }
        return strays.filter { !ProcessTable.isZombie($0) && kill($0, 0) == 0 }
    }

    private func isChild(_ pid: Int32) -> Bool { ProcessTable.entry(pid)?.parent == owner.pid }

    /// Reaps children of ours that no watcher owns (orphans re-parented to us), and kills
    /// live ones whose supervised process has ended: they left its group and would
    /// otherwise run on unsupervised.
    private func sweepOrphans() {
        // /proc is read outside the lock (every child's end and every spawn take it).
        // Children listed before the snapshot are either recorded by then or still being
        // spawned, in which case this sweep is skipped; later ones are not in the list.
        let listed = Self.children()
        guard !listed.isEmpty else { return }
        let snapshot = state.withLock { state -> (candidates: [Int32], liveTokens: Set<String>)? in
            guard state.spawning == 0 else { return nil }
            let candidates = listed.filter { state.leaders[$0] == nil && $0 != state.watchdog?.pid }
            return (candidates, Set(state.leaders.values.map(\.token)))
        }
        guard let snapshot else { return }
        for child in snapshot.candidates {
            if let token = Self.token(of: child), token.hasPrefix(self.token), !snapshot.liveTokens.contains(token) {
                kill(child, SIGKILL)
            }
            var status: Int32 = 0
            _ = waitpid(child, &status, WNOHANG)
        }
    }

    private static func token(of pid: Int32) -> String? {
        guard let data = ProcessTable.read("/proc/\(pid)/environ") else { return nil }
        let prefix = Array("\(ProcessTable.tokenVariable)=".utf8)
        guard let entry = data.split(separator: 0).first(where: { $0.starts(with: prefix) }) else { return nil }
        return String(decoding: entry.dropFirst(prefix.count), as: UTF8.self)
    }

    // MARK: Watchdog and ledger (called under the lock)

    private func startWatchdog() -> (pid: Int32, socket: Int32)? {
        var socket: Int32 = -1
        let pid = nestci_start_watchdog(&socket, "\(ProcessTable.tokenVariable)=\(token)")
        // Without a watchdog the death signal and the ledger still cover the children.
        return pid > 0 ? (pid, socket) : nil
    }

    private static func tell(_ watchdog: (pid: Int32, socket: Int32)?, add: Bool, _ group: Int32) {
        guard let watchdog else { return }
        var message: (Int32, Int32) = (add ? 1 : 2, group)
        _ = withUnsafeBytes(of: &message) { send(watchdog.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    private func write(_ state: State) {
        state.ledger?.write(owner: owner, groups: state.leaders.map { .init(pid: $0.key, start: $0.value.start) }.sorted { $0.pid < $1.pid })
    }

    /// This process's children, from /proc (every thread's list: a re-parented orphan
    /// can be listed under any of them).
    private static func children() -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else {
            return []
        }
        var result: [Int32] = []
        for task in tasks {
            guard let data = ProcessTable.read("/proc/self/task/\(task)/children") else { continue }
            let text = String(decoding: data, as: UTF8.self)
            result += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return result
    }
}

/// The one thread that forks nestci's children. `PR_SET_PDEATHSIG` fires when the thread
/// that forked a child ends, not the process; a thread of the cooperative pool or of
/// Dispatch may be retired when idle and would take its children with it. This thread
/// lives as long as nestci.
final class SpawnThread: Sendable {
    private let mailbox = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [mailbox, wake] in
            while true {
                wake.wait()
                let jobs = mailbox.withLock { jobs in
                    defer { jobs = [] }
                    return jobs
                }
                jobs.forEach { $0() }
            }
        }
        thread.name = "nestci-spawner"
        thread.start()
    }

    /// Runs `body` on the spawn thread; the calling task is suspended, its thread free.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            mailbox.withLock { $0.append { continuation.resume(with: Result { try body() }) } }
            wake.signal()
        }
    }

    /// Runs `body` on the spawn thread and waits for it.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, any Error>?>(nil)
        mailbox.withLock {
            $0.append {
                result.withLock { $0 = Result { try body() } }
                done.signal()
            }
        }
        wake.signal()
        done.wait()
        return try result.withLock { $0! }.get()
    }
}
