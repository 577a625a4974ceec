import Foundation

/// A build that failed because of the host, not the hypervisor's code: a missing or
/// unrunnable command, a full disk, a compiler killed by a signal (the OOM killer).
///
/// Such a failure is INFRA and is never cached: the same commit builds once the host is
/// fixed. Pure: decided from the exit status and the log alone, so tests drive it directly.
public struct HostTrouble: Sendable, Hashable {
    public enum Kind: String, Sendable {
        /// Exit 127: a command the build calls is not installed.
        case commandNotFound
        /// Exit 126: a command exists but cannot be executed.
        case commandNotExecutable
        /// ENOSPC or a full quota while building.
        case diskFull
        /// A compiler (or the whole command) was killed by a signal, or ran out of memory.
        case killed
    }

    public var kind: Kind
    /// What happened, quoting the log where it says so.
    public var cause: String
    /// What the operator does about it.
    public var advice: String

    /// `cause; advice`, as the cell's INFRA reason shows it.
    public var message: String { "\(cause); \(advice)" }

    /// Known programs that hypervisor builds call, and the Debian packages that provide them.
    static let packages: [String: String] = [
        "make": "make", "gcc": "gcc", "cc": "gcc", "g++": "g++", "ld": "binutils", "as": "binutils",
        "objcopy": "binutils", "autoreconf": "autoconf and automake", "autoconf": "autoconf",
        "autoheader": "autoconf", "aclocal": "automake", "automake": "automake", "libtoolize": "libtool",
        "nasm": "nasm", "python3": "python3", "python": "python3", "perl": "perl", "git": "git", "gzip": "gzip",
        "bison": "bison", "flex": "flex", "m4": "m4", "pkg-config": "pkg-config", "xxd": "xxd",
        "i686-linux-gnu-gcc": "gcc-i686-linux-gnu", "x86_64-linux-gnu-gcc": "gcc-x86-64-linux-gnu",
    ]

    /// Lines of a log that show a compiler was killed or ran out of memory (gcc's driver
    /// prints the first when the OOM killer takes `cc1`).
    static let killedMarkers = [
        "Killed signal terminated program", "internal compiler error: Killed", "virtual memory exhausted",
        "out of memory allocating", "cannot allocate memory",
    ]

    static let diskFullMarkers = ["No space left on device", "Disk quota exceeded"]

    /// The host trouble a finished build shows, if any.
    ///
    /// - Parameters:
    ///   - exitCode: the command's exit status; `nil` when it was killed by a signal.
    ///   - signal: the signal that killed it, when it was. A stop nestci asked for (a
    ///     cancel, a shutdown) never gets here: that is a cancelled build, not trouble.
    ///   - log: the combined output.
    public static func classify(exitCode: Int32?, signal: Int32?, log: String) -> HostTrouble? {
        let lines = log.split(whereSeparator: \.isNewline)
        if let line = lines.first(where: { line in diskFullMarkers.contains { line.contains($0) } }) {
            return HostTrouble(
                kind: .diskFull, cause: "the disk filled up while building: \(quote(line))",
                advice: "free space on the store's filesystem (df -h), then run again")
        }
        if let line = lines.first(where: { line in killedMarkers.contains { line.lowercased().contains($0.lowercased()) } }) {
            return HostTrouble(
                kind: .killed, cause: "the compiler was killed or ran out of memory: \(quote(line))",
                advice: "probably the OOM killer (see dmesg or journalctl -k); give the build more memory or fewer jobs (--parallel, --cores)")
        }
        if let signal {
            let who = signal == 9 ? "probably the OOM killer (see dmesg or journalctl -k)" : "something on this host sent it"
            return HostTrouble(
                kind: .killed, cause: "the build command was killed by signal \(signal)",
                advice: "\(who); give the build more memory or fewer jobs (--parallel, --cores), then run again")
        }
        switch exitCode {
        case 127:
            let line = lines.last { $0.hasSuffix("not found") || $0.contains("No such file or directory") }
            guard let line, let name = missingCommand(in: line) else {
                return HostTrouble(
                    kind: .commandNotFound, cause: "the build command exited 127 (a command it calls is not installed)",
                    advice: "look in the build log for the missing command and install it on this host")
            }
            let install = packages[name].map { "install it (Debian: apt-get install \($0))" } ?? "install it on this host"
            return HostTrouble(
                kind: .commandNotFound, cause: "the build needs `\(name)`, which is not installed: \(quote(line))",
                advice: "\(install), then run again")
        case 126:
            let line = lines.last { $0.contains("Permission denied") || $0.contains("cannot execute") }
            let name = line.flatMap(missingCommand(in:))
            return HostTrouble(
                kind: .commandNotExecutable,
                cause: "the build command exited 126: \(name.map { "`\($0)`" } ?? "a command") cannot be executed"
                    + (line.map { ": \(quote($0))" } ?? ""),
                advice: "make it executable (chmod +x, or call it through sh) or check the filesystem is not mounted noexec")
        default:
            return nil
        }
    }

    /// The command a shell names in `sh: 1: autoreconf: not found`,
    /// `bash: line 1: make: command not found` or `./autogen.sh: 3: exec: x: not found`.
    static func missingCommand(in line: Substring) -> String? {
        let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count >= 2 else { return nil }
        // The part before the complaint is the command; skip line numbers and `exec`.
        let candidates = parts.dropLast().reversed().filter { part in
            !part.isEmpty && Int(part) == nil && part != "exec" && !part.hasPrefix("line ")
        }
        guard let name = candidates.first, !name.contains(" ") else { return nil }
        return String(name.prefix(80))
    }

    private static func quote(_ line: Substring) -> String {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return "\"\(trimmed.count > 200 ? String(trimmed.prefix(200)) + "…" : trimmed)\""
    }
}
