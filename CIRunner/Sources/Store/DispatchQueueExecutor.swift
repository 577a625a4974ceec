import Dispatch

/// A serial executor that runs an actor's jobs on its own DispatchQueue, as GRDB's
/// DispatchQueueActor does.
///
/// Why: the store's methods block (SHA-256 of artifacts, fsync, waiting up to the busy
/// timeout on another process's SQLite lock). On the default executor they would hold one of
/// the cooperative pool's few threads (one per core) for that long, and with two stores
/// blocked on a two-core host every other task (boots' serial polling, the service's tick)
/// would stall. A Dispatch queue's blocked worker is not a pool thread: Dispatch adds workers.
final class DispatchQueueExecutor: SerialExecutor {
    let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label, qos: .userInitiated)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedSerialExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
}
