import Foundation
import Hypervisor
import Matrix

/// File-system facts the store relies on: which files of a folder are real artifacts, their
/// hashes, and whether a path stays inside the store.
enum StoreFiles {
    /// Regular files directly in `folder`, sorted by name. Skips hidden names (the
    /// `.name.tmp-…` files an interrupted atomic write leaves), folders and symbolic links,
    /// because a link could point anywhere outside the store.
    static func regularFiles(in folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { name in
            !name.hasPrefix(".") && isRegularFile("\(folder)/\(name)")
        }.sorted()
    }

    /// True for a regular file that is not a symbolic link.
    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// True for a folder that is not a symbolic link.
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size and SHA-256 of a file, read in 1 MiB chunks so a 64 MiB serial log does not sit in memory.
    static func digest(_ path: String) throws -> (bytes: Int, sha256: String) {
        guard let digest = try FileDigest.sha256(path: path) else {
            throw StoreError(.io, "cannot read \(path) to index it (was it removed while the run was being recorded?)")
        }
        return (digest.bytes, digest.hex)
    }

    /// The path with every symbolic link resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// True when `path`, links resolved, is `folder` or inside it.
    static func isInside(_ path: String, folder: String) -> Bool {
        guard let real = realPath(path), let base = realPath(folder) else { return false }
        return real == base || real.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// A run or cell id safe to use as one path component: letters, digits, `.`, `_`, `-`,
    /// not starting with a dot (so never `.` or `..`).
    static func isSafeComponent(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != ".", name.utf8.count <= 128 else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || (scalar >= "0" && scalar <= "9")
                || scalar == "." || scalar == "_" || scalar == "-"
        }
    }

    static func jsonText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, json text: String) throws -> T {
        try BuildCache.decoder.decode(type, from: Data(text.utf8))
    }

    static func decode<T: Decodable>(_ type: T.Type, file path: String) throws -> T {
        try BuildCache.decoder.decode(type, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}
