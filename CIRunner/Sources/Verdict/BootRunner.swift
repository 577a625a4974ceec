import Foundation
import Hypervisor
import Matrix

/// Boots one chain and judges it: starts the emulator through ``SupervisedProcess``,
/// follows the serial log while the guest runs, feeds ``VerdictStateMachine``, and stops
/// the whole process group the moment a verdict is reached or the deadline passes (after
/// a fail marker, once the guest has finished printing its evidence: see
/// ``BootRequest/evidenceGrace``).
public enum BootRunner {
    /// Runs `request` to a verdict. Never throws: harness failures are INFRA verdicts.
    public static func run(_ request: BootRequest) async -> BootResult {
        let clock = ContinuousClock()
        let emulator = request.emulator ?? Emulators.emulator(for: request.plan.backend)
        var machine: VerdictStateMachine
        do {
            machine = try VerdictStateMachine(
                rules: request.rules, smp: request.plan.smp, hostHasVMX: request.hostHasVMX, vmxReason: request.vmxReason,
                tailLimit: request.tailLines)
        } catch {
            return infraResult(request, reason: "\(error)", rule: "bad-rules")
        }

        let invocation: EmulatorInvocation
        do {
            try FileManager.default.createDirectory(atPath: request.folder, withIntermediateDirectories: true)
            invocation = try emulator.prepare(request.plan, in: request.folder)
            // A log left by an earlier attempt in this folder must not be read as this one's.
            try? FileManager.default.removeItem(atPath: invocation.serialLog)
        } catch {
            return infraResult(request, reason: "cannot prepare the \(emulator.backend.rawValue) boot: \(error)", rule: "emulator-failed-to-start")
        }
        var spec = invocation.process
        // A safety net only: the runner's own deadline normally fires first.
        spec.timeout = request.deadline + .seconds(30)

        let started = clock.now
        let process: SupervisedProcess
        do {
            process = try SupervisedProcess(spec)
        } catch {
            _ = machine.emulatorFailedToStart("\(error)", at: .zero)
            return result(request, invocation, machine.decision!, started: started, decided: started, gone: clock.now, latency: nil, follower: nil, termination: nil)
        }

        let ended = Mutex<ProcessResult?>(nil)
        let waiter = Task {
            let result = await process.wait()
            ended.withLock { $0 = result }
            return result
        }
        let follower = SerialFollower(path: invocation.serialLog)
        var firstOutput: Duration?
        var decidedAt: ContinuousClock.Instant?
        var decidingLineWritten: Date?

        func feed(_ lines: [(number: Int, text: String)], now: ContinuousClock.Instant) {
            if firstOutput == nil, follower.byteCount > 0 { firstOutput = now - started }
            for (number, text) in lines {
                if case .decide = machine.serialLine(number: number, text: text, at: now - started) {
                    decidedAt = now
                    decidingLineWritten = follower.lastWrite
                    return
                }
            }
        }

        while decidedAt == nil {
            let now = clock.now
            feed(follower.poll(), now: now)
            if decidedAt != nil { break }
            if let exit = ended.withLock({ $0 }) {
                // Everything the guest printed is in the file by now (unbuffered writes).
                feed(follower.poll(flush: true), now: clock.now)
                if decidedAt == nil {
                    _ = machine.emulatorExited(exit.termination, output: exit.output, at: clock.now - started)
                    decidedAt = clock.now
                }
                break
            }
            if now - started >= request.deadline {
                _ = machine.deadlinePassed(at: now - started)
                decidedAt = now
                break
            }
            if Task.isCancelled {
                _ = machine.cancelled(at: now - started)
                decidedAt = now
                break
            }
            try? await Task.sleep(for: request.pollInterval)
        }

        if let verdict = machine.decision, verdict.outcome == .fail, verdict.lineNumber != nil {
            await awaitEvidence(request, follower: follower, started: started, ended: ended)
        }
        process.stop()
        let exit = await waiter.value
        let gone = clock.now
        let goneWall = Date()
        let verdict = machine.decision!
        var latency: Duration?
        if verdict.lineNumber != nil, let written = decidingLineWritten {
            latency = .seconds(max(0, goneWall.timeIntervalSince(written)))
        }
        try? exit.output.write(toFile: invocation.emulatorLog, atomically: false, encoding: .utf8)
        var boot = result(
            request, invocation, verdict, started: started, decided: decidedAt ?? gone, gone: gone, latency: latency,
            follower: follower, termination: exit.summary)
        boot.firstOutput = firstOutput
        boot.emulatorPID = process.pid
        return boot
    }

    /// After a fail marker: lets the guest finish printing what follows it (XMHF and the
    /// demo print a VMCS dump after `VM-ENTRY error` / `VMRESUME error`, then halt) until
    /// the serial log is quiet for ``BootRequest/evidenceQuiet``, the emulator ends, the
    /// grace or the deadline runs out. Stopping on the marker itself would cut the dump.
    private static func awaitEvidence(
        _ request: BootRequest, follower: SerialFollower, started: ContinuousClock.Instant, ended: Mutex<ProcessResult?>
    ) async {
        let clock = ContinuousClock()
        let graceEnd = clock.now + request.evidenceGrace
        var bytes = follower.byteCount
        var lastGrowth = clock.now
        while clock.now < graceEnd, clock.now - started < request.deadline, !Task.isCancelled {
            if ended.withLock({ $0 }) != nil { return }
            _ = follower.poll()
            let now = clock.now
            if follower.byteCount != bytes {
                bytes = follower.byteCount
                lastGrowth = now
            } else if now - lastGrowth >= request.evidenceQuiet {
                return
            }
            try? await Task.sleep(for: request.pollInterval)
        }
    }

    private static func result(
        _ request: BootRequest, _ invocation: EmulatorInvocation, _ verdict: Verdict, started: ContinuousClock.Instant,
        decided: ContinuousClock.Instant, gone: ContinuousClock.Instant, latency: Duration?, follower: SerialFollower?,
        termination: String?
    ) -> BootResult {
        BootResult(
            verdict: verdict, commandLine: invocation.process.commandLine, folder: request.folder,
            serialLog: invocation.serialLog, emulatorLog: invocation.emulatorLog, backendLog: invocation.backendLog,
            timeToDecision: decided - started, stopDuration: gone - decided, verdictLatency: latency, firstOutput: nil,
            emulatorTermination: termination, serialLines: follower?.lineCount ?? 0, serialBytes: follower?.byteCount ?? 0,
            emulatorPID: nil)
    }

    private static func infraResult(_ request: BootRequest, reason: String, rule: String) -> BootResult {
        BootResult(
            verdict: Verdict(outcome: .infra, rule: rule, reason: reason, seconds: 0), commandLine: "", folder: request.folder,
            serialLog: "", emulatorLog: "", backendLog: nil, timeToDecision: .zero, stopDuration: .zero, verdictLatency: nil,
            firstOutput: nil, emulatorTermination: nil, serialLines: 0, serialBytes: 0, emulatorPID: nil)
    }
}
