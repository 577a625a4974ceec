/// nestci could not carry out a build (as opposed to the build failing): the store is
/// not writable, the shell cannot start. Thrown; the run reports it as INFRA.
public struct BuildError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The build store cannot be written (disk full, permissions).
        case storeUnwritable
        /// The build command could not be started at all.
        case launchFailed
        /// The build failed because of the host (a missing command, a full disk, the OOM
        /// killer): ``HostTrouble``. Never cached.
        case hostTrouble
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
