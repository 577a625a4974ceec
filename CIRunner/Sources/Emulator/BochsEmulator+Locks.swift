import Foundation

extension BochsEmulator {
    /// Removes `<image>.lock` files that no running process stands behind.
    ///
    /// nestci attaches disks in volatile mode, which takes no lock; but a Bochs started
    /// by hand in flat mode and killed leaves one, and then every later Bochs refuses the
    /// image ("image locked", and Debian's 2.7 even segfaults). A lock is stale when no
    /// process has the image open; a live one is left alone.
    /// - Returns: the lock files removed.
    @discardableResult
    public static func removeStaleLocks(for images: [String], procRoot: String = "/proc") -> [String] {
        let locks = images.map { $0 + ".lock" }.filter { FileManager.default.fileExists(atPath: $0) }
        guard !locks.isEmpty else { return [] }
        let open = openFiles(procRoot: procRoot)
        var removed: [String] = []
        for (image, lock) in zip(images, images.map { $0 + ".lock" }) where locks.contains(lock) {
            let resolved = (image as NSString).resolvingSymlinksInPath
            if open.contains(resolved) || open.contains(image) { continue }
            if (try? FileManager.default.removeItem(atPath: lock)) != nil { removed.append(lock) }
        }
        return removed
    }

    /// Every file some process (that we may look at) has open, from /proc/*/fd.
    private static func openFiles(procRoot: String) -> Set<String> {
        var files: Set<String> = []
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: procRoot)) ?? []
        for pid in entries where pid.allSatisfy(\.isNumber) {
            let fdFolder = "\(procRoot)/\(pid)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdFolder)) ?? [] {
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdFolder)/\(fd)") { files.insert(target) }
            }
        }
        return files
    }
}
