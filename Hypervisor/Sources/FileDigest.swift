import Foundation
import Matrix

/// SHA-256 and size of a file, read in 1 MiB chunks so a large guest kernel or a 64 MiB
/// serial log never sits in memory whole. The one file hasher of build outputs, disk
/// inputs and store artifacts.
public enum FileDigest {
    /// `nil` when the file cannot be opened; read errors after opening throw.
    public static func sha256(path: String) throws -> (hex: String, bytes: Int)? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            total += chunk.count
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return (hasher.hexDigest, total)
    }
}
