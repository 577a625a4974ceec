import Foundation
import Matrix

/// The compiler wrapper of -O triage (#13): a POSIX sh script nestci writes into a folder
/// put first on PATH for a build (``BuildVariant/pathPrefix``), under every name the build
/// may call (the cell's compiler, `gcc`, `cc`). For each compile it rewrites the -O option
/// of that one call: `listedOpt` when a source of the call is in `units.txt`, `otherOpt`
/// for the rest; then execs the real compiler, the first of its name on PATH after the
/// wrapper's own folder. It logs every C/C++ unit it sees, one line per unit,
/// `<-O used>\t<source resolved relative to the build root>`, to `<folder>.log`.
///
/// Only C and C++ sources count as units: -O changes nothing in an assembler file.
/// The build root is the nearest folder above the compiler's working directory holding
/// `.git` (a build's worktree); sources outside it are logged by absolute path.
///
/// Nothing from a unit's name is ever evaluated: names are compared with `grep -Fx` and
/// logged with `printf '%s'`; the script's own values are single-quoted by ``ShellQuote``.
/// The script finds its folder from `$0`, so a copy elsewhere (reproduce.sh) works too.
public struct CompilerWrapper: Sendable, Hashable, Codable {
    /// Units compiled at ``listedOpt`` (paths relative to the build root, as logged).
    public var listed: [String]
    /// -O for the listed units, e.g. `-O3`.
    public var listedOpt: String
    /// -O for every other unit, e.g. `-O0`; nil leaves the call's own -O.
    public var otherOpt: String?
    /// The names the wrapper is installed under.
    public var names: [String]
    /// Tells wrappers of different levels apart (their logs must not mix).
    public var tag: String

    public init(listed: [String], listedOpt: String, otherOpt: String?, compiler: String, tag: String) {
        self.listed = listed
        self.listedOpt = listedOpt
        self.otherOpt = otherOpt
        var names = [(compiler as NSString).lastPathComponent, "gcc", "cc"]
        names = names.enumerated().filter { index, name in !name.isEmpty && !names[..<index].contains(name) }.map(\.element)
        self.names = names
        self.tag = tag
    }

    /// The file that lists the units compiled at ``listedOpt``.
    public static let unitsFile = "units.txt"

    /// The script text (the same under every name: it execs the compiler of its `$0` name).
    public var script: String {
        let q = ShellQuote.quote
        return """
            #!/bin/sh
            # nestci -O triage compiler wrapper (\(ShellQuote.comment(tag))): rewrites the -O of each compile,
            # listed units (\(Self.unitsFile)) at \(ShellQuote.comment(listedOpt)), the others at \(ShellQuote.comment(otherOpt ?? "their own -O")),
            # logs each C/C++ unit to the folder's .log, then execs the real compiler.
            nestci_listed_opt=\(q(listedOpt))
            nestci_other_opt=\(q(otherOpt ?? ""))
            nestci_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
            nestci_name=${0##*/}
            nestci_log=$nestci_dir.log
            nestci_real=
            set -f
            nestci_ifs=$IFS
            IFS=:
            for nestci_d in $PATH; do
                [ -n "$nestci_d" ] || continue
                [ "$nestci_d" != "$nestci_dir" ] || continue
                if [ -f "$nestci_d/$nestci_name" ] && [ -x "$nestci_d/$nestci_name" ] && [ ! "$nestci_d/$nestci_name" -ef "$0" ]; then
                    nestci_real=$nestci_d/$nestci_name
                    break
                fi
            done
            IFS=$nestci_ifs
            set +f
            if [ -z "$nestci_real" ]; then
                printf 'nestci wrapper: no %s on PATH after %s\\n' "$nestci_name" "$nestci_dir" >&2
                exit 127
            fi
            nestci_root=$PWD
            while [ -n "$nestci_root" ] && [ ! -e "$nestci_root/.git" ]; do nestci_root=${nestci_root%/*}; done
            nestci_units=
            nestci_hit=
            nestci_skip=
            for nestci_a do
                if [ -n "$nestci_skip" ]; then nestci_skip=; continue; fi
                case $nestci_a in
                -o|-MF|-MT|-MQ|-I|-L|-D|-U|-x|-include|-imacros|-isystem|-iquote|-idirafter) nestci_skip=1; continue ;;
                -*) continue ;;
                *.c|*.cc|*.cpp|*.cxx|*.C|*.i|*.ii) ;;
                *) continue ;;
                esac
                case $nestci_a in /*) nestci_p=$nestci_a ;; *) nestci_p=$PWD/$nestci_a ;; esac
                if [ -n "$nestci_root" ]; then
                    case $nestci_p in "$nestci_root"/*) nestci_p=${nestci_p#"$nestci_root"/} ;; esac
                fi
                while :; do case $nestci_p in ./*) nestci_p=${nestci_p#./} ;; *) break ;; esac; done
                if grep -Fxq -e "$nestci_p" -- "$nestci_dir/\(Self.unitsFile)" 2>/dev/null; then nestci_hit=1; fi
                nestci_units="$nestci_units$nestci_p
            "
            done
            nestci_opt=
            if [ -n "$nestci_units" ]; then
                if [ -n "$nestci_hit" ]; then nestci_opt=$nestci_listed_opt; else nestci_opt=$nestci_other_opt; fi
                printf '%s' "$nestci_units" | while IFS= read -r nestci_u; do
                    printf '%s\\t%s\\n' "${nestci_opt:-own}" "$nestci_u" >> "$nestci_log"
                done
            fi
            if [ -n "$nestci_opt" ]; then
                for nestci_a do
                    shift
                    case $nestci_a in
                    -O|-O[0-9]*|-Os|-Og|-Oz|-Ofast) nestci_a=$nestci_opt ;;
                    esac
                    set -- "$@" "$nestci_a"
                done
            fi
            exec "$nestci_real" "$@"

            """
    }

    /// The content of ``unitsFile``.
    public var unitsText: String { listed.map { $0 + "\n" }.joined() }

    /// Writes the wrapper into `<root>/<digest>/` (content-addressed: equal wrappers share
    /// a folder, so a cached build's log is still beside it) and returns that folder.
    public func install(under root: String) throws -> String {
        let identity = SHA256.hex(of: [script, unitsText, names.joined(separator: ","), tag].joined(separator: "\u{0}"))
        let folder = (root as NSString).appendingPathComponent(String(identity.prefix(16)))
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: (folder as NSString).appendingPathComponent("tag")) { return folder }
        let staging = folder + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
        for name in names {
            let path = (staging as NSString).appendingPathComponent(name)
            try Data(script.utf8).write(to: URL(fileURLWithPath: path))
            try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        }
        try Data(unitsText.utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent(Self.unitsFile)))
        try Data((tag + "\n").utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent("tag")))
        if rename(staging, folder) != 0 {
            // Another process installed the same wrapper first: its copy is identical.
            try? fileManager.removeItem(atPath: staging)
            guard fileManager.fileExists(atPath: folder) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: folder])
            }
        }
        return folder
    }

    /// One logged compile of a unit.
    public struct LoggedUnit: Sendable, Hashable, Codable {
        /// The -O it was compiled with (`own` when the wrapper left it).
        public var opt: String
        /// The source relative to the build root.
        public var path: String
    }

    /// The log of the wrapper installed at `folder` (empty when it saw no compile).
    public static func log(of folder: String) -> [LoggedUnit] {
        guard let data = FileManager.default.contents(atPath: folder + ".log") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }
            return LoggedUnit(opt: String(parts[0]), path: String(parts[1]))
        }
    }

    /// The distinct units the wrapper at `folder` saw, in the order first seen.
    public static func units(of folder: String) -> [String] {
        var seen = Set<String>()
        return log(of: folder).map(\.path).filter { seen.insert($0).inserted }
    }

    /// Why a build through the wrapper logged no unit, for the report.
    public static let bypassed =
        "the build logged no translation unit through the compiler wrapper: it calls the compiler by an absolute path (or compiles nothing), so units cannot be narrowed"
}
