import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Matrix

/// SHA-256 and size of a file, read in 1 MiB chunks so a large guest kernel or a 64 MiB
/// serial log never sits in memory whole. The one file hasher of build outputs, disk
/// inputs and store artifacts.
public enum FileDigest {
    /// `nil` when the file cannot be opened; read errors after opening throw. Called from
    /// a task, it throws `CancellationError` between chunks once the task is cancelled: a
    /// torn-down run must not keep a thread hashing a disk image it will never use.
    public static func sha256(path: String) throws -> (hex: String, bytes: Int)? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        // read(2) into one reused buffer: FileHandle.read(upToCount:) on Linux reads 4 KiB
        // at a time into a growing Data (1,400 reads and four reallocations per chunk for a
        // 5.6 MB disk image), which a Slurm cell task paid again for every cached disk.
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total = 0
        while true {
            try Task.checkCancellation()
            let count = read(descriptor, buffer.baseAddress, chunk)
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path, NSUnderlyingErrorKey: POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)])
            }
            total += count
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return (hasher.hexDigest, total)
    }
}

extension FileDigest {
    /// Files whose content was checked in this process, by path, with the identity they
    /// had then (device, inode, size, modification time): a file unchanged since is not
    /// hashed again for every cell that reuses it.
    private static let verified = Mutex<[String: (stamp: FileStamp, sha256: String)]>([:])

    /// True when the file at `path` still has the recorded size and SHA-256: what a cached
    /// build output or disk image is checked against before it is reused. The digest is
    /// remembered with the file's identity, so an unchanged file is hashed once, and is
    /// still compared with what each caller expects.
    public static func matches(path: String, sha256 expected: String, size: Int) -> Bool {
        guard let stamp = FileStamp(path: path), stamp.size == size else { return false }
        if let known = verified.withLock({ $0[path] }), known.stamp == stamp { return known.sha256 == expected }
        guard let digest = try? sha256(path: path), digest.bytes == size else { return false }
        verified.withLock { $0[path] = (stamp, digest.hex) }
        return digest.hex == expected
    }
}

/// What `stat` says of a file, enough to notice that it was replaced or rewritten.
struct FileStamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int
    var modified: Int64

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
