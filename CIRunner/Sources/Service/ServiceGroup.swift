import Foundation

/// Runs ``Service``s side by side and tears them down in order.
///
/// The services start in the order given, each as its own task, awaited from one task
/// group. A shutdown (``shutdown()``, SIGTERM through `nestci serve`, or a service that
/// ends or throws) cancels them in reverse order, stage by stage, each stage once the one
/// after it has ended: the producers of work (queue, schedules, polling) stop together —
/// a schedule stuck on a busy store must not keep the running run from being torn down —
/// and before the notifier and the dashboard publish what the queue finished.
public actor ServiceGroup {
    public enum State: Sendable {
        case initial
        /// One task per service, in start order.
        case running(tasks: [Task<Void, any Error>])
        /// Tearing down; a service still running at `deadline` is left to end on its own
        /// while the next one is cancelled.
        case shuttingDown(deadline: ContinuousClock.Instant)
        case shutdown
    }

    public nonisolated let services: [any Service]
    /// Index ranges into ``services``: each stage is cancelled as one.
    let stages: [Range<Int>]
    let logger: Logger
    /// How long each service gets to end once cancelled before the next one is cancelled.
    let gracePeriod: Duration
    public private(set) var state: State = .initial
    private var ended: Set<Int> = []

    /// One stage per service: torn down one at a time, in reverse order.
    public init(services: [any Service], logger: Logger, gracePeriod: Duration = .seconds(10)) {
        self.init(stages: services.map { [$0] }, logger: logger, gracePeriod: gracePeriod)
    }

    /// Services in stages (start order); a shutdown cancels the last stage's services
    /// together, waits for them, then the stage before, and so on.
    public init(stages: [[any Service]], logger: Logger, gracePeriod: Duration = .seconds(10)) {
        var ranges: [Range<Int>] = []
        var start = 0
        for stage in stages where !stage.isEmpty {
            ranges.append(start..<(start + stage.count))
            start += stage.count
        }
        self.stages = ranges
        self.services = stages.flatMap { $0 }
        self.logger = logger
        self.gracePeriod = gracePeriod
    }

    /// Runs every service until ``shutdown()`` or cancellation; returns when all have
    /// ended. Rethrows the first error a service threw (after tearing down the others).
    public func run() async throws {
        guard case .initial = state else { return }
        let tasks = services.map { service in Task { try await service.run() } }
        state = .running(tasks: tasks)
        let firstError = await withTaskCancellationHandler {
            await withTaskGroup(of: (Int, Result<Void, any Error>).self) { group -> (any Error)? in
                for (index, task) in tasks.enumerated() {
                    group.addTask { (index, await task.result) }
                }
                var firstError: (any Error)?
                for await (index, result) in group {
                    ended.insert(index)
                    let name = services[index].name
                    if case .failure(let error) = result, !(error is CancellationError) {
                        logger.error("service \(name) failed: \(error)", ["service": name])
                        if firstError == nil { firstError = error }
                    }
                    if case .running = state {
                        logger.warning("service \(name) ended on its own; stopping the others", ["service": name])
                        // Not awaited here: the shutdown waits for ends that this loop records.
                        Task { await self.shutdown() }
                    }
                }
                return firstError
            }
        } onCancel: {
            Task { await self.shutdown() }
        }
        state = .shutdown
        if let firstError { throw firstError }
    }

    /// Cancels the services in reverse start order, each once the one after it ended (or
    /// its grace period passed). Returns when the last was cancelled.
    public func shutdown() async {
        switch state {
        case .initial:
            state = .shutdown
        case .running(let tasks):
            for stage in stages.reversed() {
                let deadline = ContinuousClock.now + gracePeriod
                state = .shuttingDown(deadline: deadline)
                for index in stage {
                    logger.info("stopping service \(services[index].name)", ["service": services[index].name])
                    tasks[index].cancel()
                }
                while !stage.allSatisfy(ended.contains), ContinuousClock.now < deadline {
                    // Polled rather than awaited: an unstructured task's value cannot be raced
                    // against a deadline without leaving a waiter behind.
                    await Pause.uncancellable(.milliseconds(20))
                }
                for index in stage where !ended.contains(index) {
                    logger.warning("service \(services[index].name) did not end within \(gracePeriod); stopping the next one anyway")
                }
            }
        case .shuttingDown, .shutdown:
            return
        }
    }
}
