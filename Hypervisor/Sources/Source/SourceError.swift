/// A problem with a hypervisor's sources: a repository nestci cannot reach, a revision it
/// does not have, a worktree it cannot make. The message says which and what to do.
///
/// These are infrastructure or configuration problems, never the hypervisor's own build
/// failure, so they are thrown rather than recorded as BUILD-FAIL.
public struct SourceError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// Cloning or fetching the repository failed.
        case unreachableRepository
        /// The revision names no commit in the repository.
        case unknownRevision
        /// `git worktree add` (or another local git step) failed.
        case checkoutFailed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
