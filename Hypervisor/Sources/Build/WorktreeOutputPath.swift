import Foundation
import Matrix

/// Where a declared output really is: the path resolved with every symbolic link
/// followed (realpath), and accepted only when it stays inside the build's worktree.
/// An output `../../etc/hostname`, or a link the build made to `/etc/shadow`, would
/// otherwise copy host files into the store.
enum WorktreeOutputPath {
    enum Resolution: Equatable {
        case inside(URL)
        case missing
        case outside(String)
    }

    static func resolve(_ relative: String, in worktree: URL) -> Resolution {
        guard let root = realPath(worktree.path) else { return .missing }
        if relative.hasPrefix("/") { return .outside(relative) }
        guard let resolved = realPath(worktree.appendingPathComponent(relative).path) else { return .missing }
        guard resolved.hasPrefix(root.hasSuffix("/") ? root : root + "/") else { return .outside(resolved) }
        return .inside(URL(fileURLWithPath: resolved))
    }

    private static func realPath(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
