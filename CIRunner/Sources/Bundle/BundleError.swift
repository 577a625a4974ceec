/// Why `nestci ingest` refused a bundle (or could not start), and what to do about it.
public struct BundleError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// Not a bundle folder, no readable manifest, an unknown format.
        case notABundle
        /// A file's size or SHA-256 differs from the manifest, or a listed file is missing.
        case checksum
        /// A name that leaves the bundle, a symbolic link, a file too large: never copied.
        case unsafe
        /// The bundle belongs to another run, matrix or nestci version than the ingest.
        case mismatch
        /// The run the bundles belong to is not in the store, and no matrix was given to begin it.
        case noRun
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
