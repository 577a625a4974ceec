import CSupport
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process in its own session and process group, watched by one thread that
/// reads its output while it runs, enforces its deadline and reaps it.
///
/// Teardown always addresses the whole group: SIGTERM, then SIGKILL after the grace
/// period. When the leader exits on its own, anything it left behind in its group
/// (a daemonised grandchild) is killed too before the leader is reaped, so the group id
/// cannot be reused by an unrelated process in between.
public final class SupervisedProcess: Sendable {
    /// The child's pid, which is also its process-group and session id.
    public let pid: Int32
    public let spec: ProcessSpec
    private let state: Mutex<State>
    private let finished: Completion<ProcessResult>

    private struct State {
        var stopRequested = false
        var stopRequestedAt: ContinuousClock.Instant?
    }

    /// Starts the child at once. Throws ``ProcessLaunchError`` when it cannot start.
    public init(_ spec: ProcessSpec) throws {
        self.spec = spec
        self.state = Mutex(State())
        self.finished = Completion()
        var pipeFDs: [Int32] = [-1, -1]
        guard nestci_pipe_cloexec(&pipeFDs) == 0 else {
            throw ProcessLaunchError(executable: spec.executable, errno: errno)
        }
        let (readEnd, writeEnd) = (pipeFDs[0], pipeFDs[1])
        let started = ContinuousClock.now
        do {
            pid = try ProcessRegistry.shared.register { try Self.spawn(spec, stdoutFD: writeEnd) }
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
        close(writeEnd)
        let watcher = Thread { [self] in self.watch(readEnd: readEnd, started: started) }
        watcher.name = "nestci-supervisor-\(pid)"
        watcher.start()
    }

    /// Asks the child to stop: SIGTERM to its group, SIGKILL after the grace period.
    /// Safe to call many times and after the child has ended.
    public func stop() {
        state.withLock { state in
            if !state.stopRequested {
                state.stopRequested = true
                state.stopRequestedAt = .now
                kill(-pid, SIGTERM)
            }
        }
    }

    /// Waits for the child to end and be reaped. Cancelling the waiting task stops the child.
    public func wait() async -> ProcessResult {
        await withTaskCancellationHandler {
            await finished.value
        } onCancel: {
            stop()
        }
    }

    /// Runs `spec` to completion.
    public static func run(_ spec: ProcessSpec) async throws -> ProcessResult {
        try await SupervisedProcess(spec).wait()
    }

    // MARK: - Watching

    private func watch(readEnd: Int32, started: ContinuousClock.Instant) {
        var output = CappedOutput(limit: spec.outputLimit)
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        var termSentAt: ContinuousClock.Instant?
        var pipeOpen = true
        let deadline = spec.timeout.map { started + $0 }
        var termination: ProcessResult.Termination?

        while termination == nil {
            if pipeOpen {
                var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, 50)
                if ready > 0 {
                    let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                    if count > 0 {
                        buffer.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                    } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                        pipeOpen = false
                    }
                }
            } else {
                usleep(20_000)
            }

            // Has the leader exited? Look without reaping, so the group id stays ours.
            if nestci_has_exited(pid) != 0 {
                kill(-pid, SIGKILL)  // whatever it left behind in its group
                termination = reap()
                break
            }

            let now = ContinuousClock.now
            if let deadline, now >= deadline, termSentAt == nil {
                timedOut = true
                termSentAt = now
                kill(-pid, SIGTERM)
            }
            let stopAt = state.withLock { $0.stopRequestedAt }
            if let sent = termSentAt ?? stopAt, now - sent >= spec.gracePeriod {
                kill(-pid, SIGKILL)
            }
        }
        // Drain what is still buffered in the pipe without waiting for stragglers.
        if pipeOpen {
            _ = fcntl(readEnd, F_SETFL, fcntl(readEnd, F_GETFL) | O_NONBLOCK)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                buffer.withUnsafeBytes { output.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            }
        }
        close(readEnd)
        ProcessRegistry.shared.remove(pid)
        let stopped = state.withLock { $0.stopRequested }
        finished.complete(
            ProcessResult(
                pid: pid, termination: termination ?? .signalled(SIGKILL), timedOut: timedOut,
                stoppedByRequest: stopped && !timedOut, output: output.text,
                outputTruncated: output.truncated, duration: .now - started))
    }

    private func reap() -> ProcessResult.Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let low = status & 0x7f
        if low == 0 { return .exited((status >> 8) & 0xff) }
        return .signalled(low)
    }

    // MARK: - Spawning

    private static func spawn(_ spec: ProcessSpec, stdoutFD: Int32) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let input = spec.standardInput ?? "/dev/null"
        posix_spawn_file_actions_addopen(&actions, 0, input, O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 1)
        posix_spawn_file_actions_adddup2(&actions, stdoutFD, 2)
        // Descriptors the runtime opened without CLOEXEC must not leak into the child,
        // or a grandchild holding them keeps our pipes open.
        nestci_spawn_addclosefrom(&actions, 3)
        if let directory = spec.workingDirectory {
            nestci_spawn_addchdir(&actions, directory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new session: the child leads its own process group, so one kill(-pid)
        // reaches everything it starts, and a terminal's ^C does not reach it directly.
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(
            &attributes, nestci_spawn_setsid_flag() | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var environment = ProcessInfo.processInfo.environment
        for (key, value) in spec.environment { environment[key] = value }
        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let executable = Self.resolve(spec.executable, path: environment["PATH"])
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw ProcessLaunchError(executable: spec.executable, errno: result)
        }
        return pid
    }

    /// Finds a program in `PATH` ourselves so that a missing tool is a launch error,
    /// not a child that exits 127.
    static func resolve(_ name: String, path: String?) -> String {
        if name.contains("/") { return name }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return name
    }
}
