/// Why the dashboard could not be written, and what to do about it.
public struct DashboardError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// A page could not be written or moved into place.
        case io
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
