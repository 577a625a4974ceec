/// A compiler nestci cannot probe: missing, or not answering `--version`.
public struct ToolchainError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The compiler is not installed (not in `PATH`).
        case notFound
        /// It ran but did not answer the probe as gcc or clang do.
        case probeFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
