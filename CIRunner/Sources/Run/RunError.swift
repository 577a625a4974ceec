/// Why a run (or one of its files) could not be carried out, and what to do about it.
public struct RunError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// A prebuilt image or a build output the matrix names is not there.
        case missingInput
        /// A file could not be written or moved into place.
        case io
        /// A helper (fixture repository, git) failed.
        case setup
    }

    public var code: Code
    /// One line for the user: what went wrong and what to do.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
