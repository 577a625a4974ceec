import Dispatch
import Foundation
import Hypervisor

/// SIGINT/SIGTERM to nestci: tear down every supervised process group (emulators, builds),
/// run `onInterrupt`, and exit 130/143. Without this an interrupted nestci would leave
/// qemu and Bochs running.
public enum SignalTrap {
    nonisolated(unsafe) private static var sources: [any DispatchSourceSignal] = []
    private static let receivedSignal = Mutex<Int32?>(nil)

    /// The signal being handled, once one came: the command's own error path then leaves
    /// the exit to the trap (128 + signal, after teardown).
    public static var received: Int32? { receivedSignal.withLock { $0 } }

    /// `beforeTeardown` runs first, while children can still be started (the Slurm
    /// executor's scancel).
    public static func install(beforeTeardown: @escaping @Sendable () -> Void = {}, onInterrupt: @escaping @Sendable (Int32) -> Void = { _ in }) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                receivedSignal.withLock { $0 = $0 ?? signalNumber }
                FileHandle.standardError.write(Data("\nnestci: \(signalNumber == SIGINT ? "interrupted" : "terminated"): stopping emulators and builds\n".utf8))
                beforeTeardown()
                ProcessRegistry.shared.terminateAll(grace: .seconds(2))
                onInterrupt(signalNumber)
                exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }
}

extension SignalTrap {
    /// For the service: SIGINT/SIGTERM call `onSignal` (stop taking work, tear the run
    /// down, record it) and nestci exits by itself; if it has not within `deadline`, every
    /// child group is killed and nestci exits anyway.
    public static func installGraceful(deadline: Duration = .seconds(8), onSignal: @escaping @Sendable (Int32) -> Void) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("nestci: \(signalNumber == SIGINT ? "interrupted" : "terminated"): stopping (at most \(Int(deadline.seconds)) s)\n".utf8))
                onSignal(signalNumber)
                DispatchQueue.global().asyncAfter(deadline: .now() + deadline.seconds) {
                    ProcessRegistry.shared.terminateAll(grace: .seconds(1))
                    exit(128 + signalNumber)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
