import Foundation

/// A lock around a value: the one synchronisation primitive nestci's thread-based parts
/// (process watchers, signal handling) use.
///
/// Sendable only when its value is: the lock makes access exclusive, but a value that is
/// not Sendable (a class reference) could still escape through `withLock` and be used from
/// two threads. (Synchronization.Mutex is a ~Copyable struct needing `borrowing` call sites
/// everywhere; this class keeps them simple.)
public final class Mutex<Value> {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

// The lock serialises every access to `value`, and the value itself may cross threads.
extension Mutex: @unchecked Sendable where Value: Sendable {}

/// A value that arrives once, awaited by any number of tasks.
final class Completion<Value: Sendable>: Sendable {
    private let state = Mutex<(value: Value?, waiters: [CheckedContinuation<Value, Never>])>((nil, []))

    func complete(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume(returning: value) }
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Value? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
