/// What the artifact store refused or could not do, and what to do about it.
///
/// The store's own error (its layer's, as `DatabaseError` is SQLite's); the CLI maps the
/// ``Code`` to an exit status, the service logs it and carries on.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// No store at the path, or no such run, cell or queue request.
        case notFound
        /// A run id that is already taken.
        case exists
        /// A `RUN/CELL#n` reference (or an id) that is malformed or leaves the store.
        case badReference
        /// An id that cannot name a folder in the store.
        case invalidID
        /// A file or folder could not be created, read, written or removed.
        case io
        /// A run another live process is writing (an investigation's steps): left to it.
        case inUse
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
