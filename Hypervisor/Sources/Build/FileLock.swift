import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An advisory `flock(2)` lock on a file, shared by every nestci process on one store.
///
/// The kernel drops it when the holder dies, however it dies, so a lock that can be taken
/// proves its last holder is gone. Waiting polls with `LOCK_NB` and `Task.sleep` rather
/// than blocking in `flock`, so no thread of the cooperative pool is held and the wait
/// ends on cancellation.
public final class FileLock: Sendable {
    /// The lock file.
    public let path: String
    private let fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    /// Takes the lock at `path` (creating the file and its folder), waiting while another
    /// process holds it in a conflicting mode.
    ///
    /// - Parameter shared: a shared lock (many holders) rather than an exclusive one.
    /// - Throws: ``BuildError`` `.storeUnwritable` when the file cannot be opened;
    ///   `CancellationError` when the waiting task is cancelled.
    public static func acquire(_ path: String, shared: Bool = false) async throws -> FileLock {
        let fd = try open(path)
        while true {
            if flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 { return FileLock(path: path, fd: fd) }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw BuildError(.storeUnwritable, "cannot lock \(path): \(reason); the store must be on a local filesystem")
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                close(fd)
                throw error
            }
        }
    }

    /// Takes the lock at `path` only if nobody holds it in a conflicting mode now.
    public static func attempt(_ path: String, shared: Bool = false) throws -> FileLock? {
        let fd = try open(path)
        guard flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 else {
            close(fd)
            return nil
        }
        return FileLock(path: path, fd: fd)
    }

    /// Turns a held exclusive lock into a shared one without letting go in between.
    public func downgrade() {
        _ = flock(fd, LOCK_SH)
    }

    private static func open(_ path: String) throws -> Int32 {
        try? FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw BuildError(
                .storeUnwritable, "cannot open the lock file \(path): \(String(cString: strerror(errno))); check the store's permissions")
        }
        return fd
    }
}
