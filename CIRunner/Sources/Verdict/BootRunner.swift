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
                tailLimit: request.tailLines, milestones: request.milestones)
        } catch {
            return infraResult(request, reason: "\(error)", rule: "bad-rules")
        }

        let invocation: EmulatorInvocation
        do {
            try FileManager.default.createDirectory(atPath: request.folder, withIntermediateDirectories: true)
            invocation = try emulator.prepare(request.plan, in: request.folder)
        } catch {
            return infraResult(request, reason: "cannot prepare the \(emulator.backend.rawValue) boot: \(error)", rule: "emulator-failed-to-start")
        }
        // The emulator writes its serial port into a FIFO that nestci reads and stores,
        // capped (see SerialCapture); this also replaces a log left by an earlier attempt.
        let capture: SerialCapture
        do {
            let half = max(1, request.serialLimit / 2 - 64)  // room for the cut line
            capture = try SerialCapture(path: invocation.serialLog, headLimit: half, tailLimit: half)
        } catch let error as SerialCaptureError {
            return infraResult(
                request, reason: error.isDiskFull ? "disk full: cannot create the serial capture: \(error)" : "cannot create the serial capture: \(error)",
                rule: error.isDiskFull ? "disk-full" : "emulator-failed-to-start")
        } catch {
            return infraResult(request, reason: "cannot create the serial capture: \(error)", rule: "emulator-failed-to-start")
        }
        var spec = invocation.process
        // A safety net only: the runner's own deadline normally fires first.
        spec.timeout = request.deadline + .seconds(30)

        let started = clock.now
        let process: SupervisedProcess
        do {
            process = try await SupervisedProcess.launch(spec)
        } catch {
            _ = machine.emulatorFailedToStart("\(error)", at: .zero)
            try? capture.finish()
            return result(request, invocation, machine.decision!, started: started, decided: started, gone: clock.now, latency: nil, capture: nil, termination: nil)
        }

        let ended = Mutex<ProcessResult?>(nil)
        let waiter = Task {
            let result = await process.wait()
            ended.withLock { $0 = result }
            return result
        }
        var firstOutput: Duration?
        var decidedAt: ContinuousClock.Instant?
        var decidingLineWritten: Date?

        /// Reads what the guest printed (all of it with `drain`) and judges each new line.
        func feed(now: ContinuousClock.Instant, drain: Bool = false) {
            // A line is judged the moment it is read, so its read time is when it was written,
            // to within one poll interval.
            let read = Date()
            let judge: (SerialLineView) -> Void = { line in
                guard decidedAt == nil else { return }
                if case .decide = machine.serialLine(number: line.number, text: line.text, at: now - started) {
                    decidedAt = now
                    decidingLineWritten = read
                }
            }
            do {
                if drain { try capture.drain(judge) } else { try capture.poll(judge) }
            } catch {
                if decidedAt == nil, case .decide = machine.harnessFailed(rule: "serial-capture", reason: "\(error)", at: now - started) { decidedAt = now }
            }
            if firstOutput == nil, capture.bytesRead > 0 { firstOutput = now - started }
            if decidedAt == nil, let failure = capture.writeFailure {
                let reason = "\(failure.isDiskFull ? "disk full" : "cannot store the serial output"): \(failure); \(capture.keptSummary) before the failure"
                if case .decide = machine.harnessFailed(rule: failure.isDiskFull ? "disk-full" : "serial-capture", reason: reason, at: now - started) {
                    decidedAt = now
                }
            }
        }

        while decidedAt == nil {
            let now = clock.now
            feed(now: now)
            if decidedAt != nil { break }
            if let exit = ended.withLock({ $0 }) {
                // Everything the guest printed is in the FIFO by now (the writer is gone).
                feed(now: clock.now, drain: true)
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
            await awaitEvidence(request, capture: capture, started: started, ended: ended)
        }
        process.stop()
        // Keep reading while it stops: an emulator blocked writing into a full FIFO (the
        // guest still printing) cannot act on SIGTERM, and would wait for the SIGKILL.
        while ended.withLock({ $0 }) == nil {
            _ = try? capture.poll { _ in }
            await Pause.uncancellable(.milliseconds(10))
        }
        let exit = await waiter.value
        let gone = clock.now
        let goneWall = Date()
        // What the emulator wrote before it went is stored too (the verdict is already taken).
        try? capture.drain { _ in }
        var verdict = machine.decision!
        do {
            try capture.finish()
        } catch let error as SerialCaptureError where error.isDiskFull && verdict.outcome != .infra {
            // The verdict stands on what was read, but its evidence could not be kept whole.
            verdict = Verdict(
                outcome: .infra, rule: "disk-full",
                reason: "disk full while storing the serial output (the guest's verdict was \(verdict.outcome.rawValue): \(verdict.line ?? verdict.reason)): \(error); \(capture.keptSummary)",
                seconds: verdict.seconds, lastLines: verdict.lastLines)
        } catch {}
        var latency: Duration?
        if verdict.lineNumber != nil, let written = decidingLineWritten {
            latency = .seconds(max(0, goneWall.timeIntervalSince(written)))
        }
        try? exit.output.write(toFile: invocation.emulatorLog, atomically: false, encoding: .utf8)
        var boot = result(
            request, invocation, verdict, started: started, decided: decidedAt ?? gone, gone: gone, latency: latency,
            capture: capture, termination: exit.summary)
        boot.firstOutput = firstOutput
        boot.emulatorPID = process.pid
        boot.milestones = MilestoneTime.timeline(firstOutput: firstOutput, reached: machine.milestoneTimes, verdict: verdict)
        boot.rates = machine.rates
        return boot
    }

    /// After a fail marker: lets the guest finish printing what follows it (XMHF and the
    /// demo print a VMCS dump after `VM-ENTRY error` / `VMRESUME error`, then halt) until
    /// the serial log is quiet for ``BootRequest/evidenceQuiet``, the emulator ends, the
    /// grace or the deadline runs out. Stopping on the marker itself would cut the dump.
    private static func awaitEvidence(
        _ request: BootRequest, capture: SerialCapture, started: ContinuousClock.Instant, ended: Mutex<ProcessResult?>
    ) async {
        let clock = ContinuousClock()
        let graceEnd = clock.now + request.evidenceGrace
        var bytes = capture.bytesRead
        var lastGrowth = clock.now
        while clock.now < graceEnd, clock.now - started < request.deadline, !Task.isCancelled {
            if ended.withLock({ $0 }) != nil { return }
            _ = try? capture.poll { _ in }
            let now = clock.now
            if capture.bytesRead != bytes {
                bytes = capture.bytesRead
                lastGrowth = now
            } else if now - lastGrowth >= request.evidenceQuiet {
                return
            }
            try? await Task.sleep(for: request.pollInterval)
        }
    }

    private static func result(
        _ request: BootRequest, _ invocation: EmulatorInvocation, _ verdict: Verdict, started: ContinuousClock.Instant,
        decided: ContinuousClock.Instant, gone: ContinuousClock.Instant, latency: Duration?, capture: SerialCapture?,
        termination: String?
    ) -> BootResult {
        BootResult(
            verdict: verdict, commandLine: invocation.process.commandLine, folder: request.folder,
            serialLog: invocation.serialLog, emulatorLog: invocation.emulatorLog, backendLog: invocation.backendLog,
            timeToDecision: decided - started, stopDuration: gone - decided, verdictLatency: latency, firstOutput: nil,
            emulatorTermination: termination, serialLines: capture?.scanner.lineCount ?? 0, serialBytes: capture?.bytesRead ?? 0,
            emulatorPID: nil)
    }

    private static func infraResult(_ request: BootRequest, reason: String, rule: String) -> BootResult {
        BootResult(
            verdict: Verdict(outcome: .infra, rule: rule, reason: reason, seconds: 0), commandLine: "", folder: request.folder,
            serialLog: "", emulatorLog: "", backendLog: nil, timeToDecision: .zero, stopDuration: .zero, verdictLatency: nil,
            firstOutput: nil, emulatorTermination: nil, serialLines: 0, serialBytes: 0, emulatorPID: nil)
    }
}
