import Dispatch

/// Sleeps that a cancelled task still waits out: teardown and the last writes of a stopping
/// service run in cancelled tasks, where `Task.sleep` returns at once and a retry or poll
/// loop would spin.
enum Pause {
    static func uncancellable(_ duration: Duration) async {
        let nanoseconds = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) { continuation.resume() }
        }
    }
}
