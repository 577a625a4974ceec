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
    /// The child's NESTCI_SUPERVISOR value, inherited by all it starts.
    let token: String
    private let state: Mutex<State>
    private let finished: Completion<ProcessResult>

    private struct State {
        var stopRequested = false
        var stopRequestedAt: ContinuousClock.Instant?
    }

    /// Starts the child at once. Throws ``ProcessLaunchError`` when it cannot start.
    /// Blocks the calling thread while the spawn thread forks: from async code use
    /// ``launch(_:)``, which suspends instead.
    public convenience init(_ spec: ProcessSpec) throws {
        let pipe = try Self.outputPipe(spec)
        let started = ContinuousClock.now
        let child: (pid: Int32, token: String)
        do {
            child = try ProcessRegistry.shared.register { token in try Self.spawn(spec, stdoutFD: pipe.writeEnd, token: token) }
        } catch {
            close(pipe.readEnd)
            close(pipe.writeEnd)
            throw error
        }
        self.init(spec, child: child, pipe: pipe, started: started)
    }

    /// Starts the child, the task suspended (not its thread blocked) while it is forked.
    /// Throws ``ProcessLaunchError`` when it cannot start.
    public static func launch(_ spec: ProcessSpec) async throws -> SupervisedProcess {
        let pipe = try outputPipe(spec)
        let started = ContinuousClock.now
        let child: (pid: Int32, token: String)
        do {
            child = try await ProcessRegistry.shared.register { token in try Self.spawn(spec, stdoutFD: pipe.writeEnd, token: token) }
        } catch {
            close(pipe.readEnd)
            close(pipe.writeEnd)
            throw error
        }
        return SupervisedProcess(spec, child: child, pipe: pipe, started: started)
    }

    private static func outputPipe(_ spec: ProcessSpec) throws -> (readEnd: Int32, writeEnd: Int32) {
        var pipeFDs: [Int32] = [-1, -1]
        guard nestci_pipe_cloexec(&pipeFDs) == 0 else {
            throw ProcessLaunchError(executable: spec.executable, errno: errno)
        }
        return (pipeFDs[0], pipeFDs[1])
    }

    /// The spawned child: its watcher thread starts here.
    private init(_ spec: ProcessSpec, child: (pid: Int32, token: String), pipe: (readEnd: Int32, writeEnd: Int32), started: ContinuousClock.Instant) {
        self.spec = spec
        self.state = Mutex(State())
        self.finished = Completion()
        (pid, token) = child
        let readEnd = pipe.readEnd
        close(pipe.writeEnd)
        let watcher = Thread { [self] in self.watch(readEnd: readEnd, started: started) }
        watcher.name = "nestci-supervisor-\(pid)"
        watcher.start()
    }

    /// Asks the child to stop: SIGTERM to its group and to its descendants that left the
    /// group (found by their token), SIGKILL after the grace period.
    /// Safe to call many times and after the child has ended.
    public func stop() {
        let first = state.withLock { state -> Bool in
            guard !state.stopRequested else { return false }
            state.stopRequested = true
            state.stopRequestedAt = .now
            kill(-pid, SIGTERM)
            return true
        }
        // Not left to the orphan sweeper: that acts only once the leader is reaped.
        if first {
            for escapee in ProcessTable.carrying(token: token, exact: true) where escapee != pid { kill(escapee, SIGTERM) }
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
        try await SupervisedProcess.launch(spec).wait()
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
                // Killed because nestci is being torn down counts as stopped on request:
                // it is not the child's own outcome.
                stoppedByRequest: (stopped || ProcessRegistry.shared.isShuttingDown) && !timedOut, output: output.text,
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

    /// fork + exec through CSupport's `nestci_spawn` (run on the registry's spawn thread):
    /// a new session, so the child leads its own process group and one kill(-pid) reaches
    /// everything it starts, and a terminal's ^C does not reach it directly; the parent-
    /// death signal, so it dies with nestci; every signal reset and unmasked; every step
    /// checked. posix_spawn cannot set the death signal.
    private static func spawn(_ spec: ProcessSpec, stdoutFD: Int32, token: String) throws -> Int32 {
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in spec.environment { environment[key] = value }
        // Inherited by every descendant, so one that leaves the group is still found.
        environment[ProcessTable.tokenVariable] = token
        let argv = ([spec.executable] + spec.arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let executable = strdup(Self.resolve(spec.executable, path: environment["PATH"]))
        let input = strdup(spec.standardInput ?? "/dev/null")
        let directory = spec.workingDirectory.map { strdup($0) } ?? nil
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
            free(executable)
            free(input)
            free(directory)
        }
        var pid: pid_t = 0
        var step: Int32 = 0
        let result = argv.withUnsafeBufferPointer { argvPointer in
            envp.withUnsafeBufferPointer { envpPointer in
                var request = nestci_spawn_request(
                    path: executable, argv: argvPointer.baseAddress, envp: envpPointer.baseAddress, stdin_path: input,
                    output_fd: stdoutFD, directory: directory, parent: getpid())
                return nestci_spawn(&request, &pid, &step)
            }
        }
        guard result == 0 else {
            throw ProcessLaunchError(executable: spec.executable, errno: result, step: Self.stepName(step, spec))
        }
        return pid
    }

    private static func stepName(_ step: Int32, _ spec: ProcessSpec) -> String? {
        switch Int(step) {
        case Int(NESTCI_STEP_STDIN): "opening its standard input \(spec.standardInput ?? "/dev/null")"
        case Int(NESTCI_STEP_OUTPUT): "connecting its output"
        case Int(NESTCI_STEP_CHDIR): "entering \(spec.workingDirectory ?? ".")"
        case Int(NESTCI_STEP_SETSID): "starting its session"
        case Int(NESTCI_STEP_DEATHSIG): "setting its parent-death signal"
        case Int(NESTCI_STEP_CLOSE): "closing inherited descriptors"
        case Int(NESTCI_STEP_FORK): "forking"
        default: nil
        }
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
