import Foundation

/// Where a command writes: standard output and error in the executable, strings in tests.
public final class Console: @unchecked Sendable {
    private let lock = NSLock()
    private let writeOut: @Sendable (String) -> Void
    private let writeErr: @Sendable (String) -> Void
    /// Whether standard output is a terminal (live progress redraws only there).
    public let isTerminal: Bool

    public init(isTerminal: Bool, out: @escaping @Sendable (String) -> Void, err: @escaping @Sendable (String) -> Void) {
        self.isTerminal = isTerminal
        self.writeOut = out
        self.writeErr = err
    }

    /// The process's own standard output and error.
    public static func standard() -> Console {
        Console(
            isTerminal: isatty(1) == 1,
            out: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
            err: { text in FileHandle.standardError.write(Data(text.utf8)) })
    }

    /// A console that records everything, for tests.
    public static func capturing() -> (Console, CapturedOutput) {
        let captured = CapturedOutput()
        return (Console(isTerminal: false, out: { captured.append(out: $0) }, err: { captured.append(err: $0) }), captured)
    }

    public func print(_ text: String = "") { lock.withLock { writeOut(text + "\n") } }
    public func write(_ text: String) { lock.withLock { writeOut(text) } }
    public func error(_ text: String) { lock.withLock { writeErr(text + "\n") } }
}

/// Output recorded by ``Console/capturing()``.
public final class CapturedOutput: @unchecked Sendable {
    private let lock = NSLock()
    private var outText = ""
    private var errText = ""
    func append(out text: String) { lock.withLock { outText += text } }
    func append(err text: String) { lock.withLock { errText += text } }
    public var out: String { lock.withLock { outText } }
    public var err: String { lock.withLock { errText } }
}
