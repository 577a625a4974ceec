import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What nestci reads about processes from /proc: the fields of `/proc/PID/stat` it needs
/// to recognise its own processes (a pid plus its start time names one process for good;
/// a pid alone may have been reused) and the environment token its children inherit.
public enum ProcessTable {
    struct Entry: Equatable {
        var pid: Int32
        var parent: Int32
        var group: Int32
        /// Clock ticks after boot (field 22 of /proc/PID/stat).
        var startTime: UInt64
    }

    /// The variable every supervised child gets: `<nestci pid>-<start time>-<sequence>`.
    /// Descendants inherit it, so a descendant that left its process group (setsid) is
    /// still found by reading /proc/PID/environ.
    static let tokenVariable = "NESTCI_SUPERVISOR"

    static func entry(_ pid: Int32) -> Entry? {
        guard let data = read("/proc/\(pid)/stat") else { return nil }
        return parse(pid: pid, stat: data)
    }

    static func parse(pid: Int32, stat data: Data) -> Entry? {
        // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
        guard let close = data.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = data[(close + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        guard fields.count > 19, let parent = Int32(fields[1]), let group = Int32(fields[2]), let start = UInt64(fields[19]) else {
            return nil
        }
        return Entry(pid: pid, parent: parent, group: group, startTime: start)
    }

    /// Every process on this machine (those that vanish while being read are skipped).
    static func all() -> [Entry] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { Int32($0).flatMap(entry) }
    }

    static func startTime(_ pid: Int32) -> UInt64? { entry(pid)?.startTime }

    /// Whether the process `pid` that started at `startTime` is still alive (not reused).
    static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard let entry = entry(pid) else { return false }
        return entry.startTime == startTime && !isZombie(pid)
    }

    /// Whether `pid` is running: it exists and is not a zombie waiting to be reaped.
    public static func isRunning(_ pid: Int32) -> Bool {
        entry(pid) != nil && !isZombie(pid)
    }

    static func isZombie(_ pid: Int32) -> Bool {
        guard let data = read("/proc/\(pid)/stat"),
            let close = data.lastIndex(of: UInt8(ascii: ")")), data.count > close + 2
        else { return false }
        return data[close + 2] == UInt8(ascii: "Z")
    }

    /// Processes whose environment holds `NESTCI_SUPERVISOR=` followed by `prefix`
    /// (an owner's token and "-" for all its descendants, or one child's whole token
    /// followed by nothing else when `exact`).
    static func carrying(token prefix: String, exact: Bool = false) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let wanted = Array("\(tokenVariable)=\(prefix)".utf8)
        let me = getpid()
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), pid != me,
                let data = read("/proc/\(name)/environ")
            else { return nil }
            for entry in data.split(separator: 0) where entry.starts(with: wanted) {
                if !exact || entry.count == wanted.count { return pid }
            }
            return nil
        }
    }

    /// A small /proc file's content through read(2). Not String(contentsOfFile:) nor
    /// FileManager.contents: on Linux (Foundation of Swift 6.3) both leak their 4 KiB buffer
    /// when a file reads empty, as a /proc `children` list or a kernel thread's environ
    /// does; at 10 sweeps a second that grew nestci's RSS by about 0.4 MB/s while boots ran.
    static func read(_ path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        return bytes
    }
}
