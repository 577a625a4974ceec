import Foundation
import Matrix

/// Reading a bundle someone else wrote, which may be damaged or hostile: every file is
/// opened without following links, must be a regular file of the size the manifest says,
/// and is hashed while it is copied, so what was checked is what lands in the store.
enum BundleFiles {
    /// The bytes of a small file of the bundle (the manifest, result.json), at most `limit`.
    static func read(_ path: String, limit: Int, what: String) throws -> Data {
        let fd = try openRegular(path, what: what)
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleError(.notABundle, "\(what): cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
            if data.count > limit {
                throw BundleError(.unsafe, "\(what): \(path) is larger than \(limit) bytes; a bundle's \(what) is never that large (refused)")
            }
        }
    }

    /// Copies `source` to the new file `destination`, checking on the way that it has
    /// exactly `expected`'s size and SHA-256.
    static func copyVerified(_ source: String, to destination: String, expected: CellBundle.File, bundle: String) throws {
        let what = "bundle \(bundle): \(expected.name)"
        let input = try openRegular(source, what: what)
        defer { close(input) }
        var info = stat()
        guard fstat(input, &info) == 0, Int(info.st_size) == expected.bytes else {
            throw BundleError(
                .checksum, "\(what) has \(info.st_size) bytes but the manifest says \(expected.bytes): the bundle was changed or cut short; run the cell again")
        }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else {
            throw StoreError(.io, "cannot create \(destination): \(String(cString: strerror(errno))) (is the store writable?)")
        }
        defer { close(output) }
        var hasher = SHA256()
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(input, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw BundleError(.checksum, "\(what): cannot read it: \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            total += count
            guard total <= expected.bytes else {
                throw BundleError(.checksum, "\(what) grew while it was read (more than the manifest's \(expected.bytes) bytes); refused")
            }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            var written = 0
            while written < count {
                let wrote = buffer.withUnsafeBytes { Glibc.write(output, $0.baseAddress! + written, count - written) }
                if wrote < 0, errno == EINTR { continue }
                guard wrote > 0 else {
                    throw StoreError(.io, "cannot write \(destination): \(String(cString: strerror(errno))) (is the disk full?)")
                }
                written += wrote
            }
        }
        guard total == expected.bytes, hasher.hexDigest == expected.sha256 else {
            throw BundleError(
                .checksum, "\(what): its SHA-256 is not the manifest's (the file was changed after the cell ran); refused: run the cell again")
        }
        fsync(output)
    }

    /// Opens a regular file without following a symbolic link (and without blocking on a FIFO).
    private static func openRegular(_ path: String, what: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            switch errno {
            case ELOOP: throw BundleError(.unsafe, "\(what) is a symbolic link; a bundle holds regular files only (refused)")
            case ENOENT: throw BundleError(.checksum, "\(what) is missing from the bundle (its manifest lists it); run the cell again")
            default: throw BundleError(.notABundle, "\(what): cannot open \(path): \(String(cString: strerror(errno)))")
            }
        }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw BundleError(.unsafe, "\(what) is not a regular file; a bundle holds regular files only (refused)")
        }
        return fd
    }
}
