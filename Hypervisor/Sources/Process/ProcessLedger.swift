import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A store's record of which nestci process runs which process groups, so that a later
/// nestci on the same store can end the strays of one that is gone (SIGKILL, a crash, a
/// power cut of the service's parent) — emulators and builds alike.
///
/// One file per live nestci, `STORE/.processes/<pid>-<start time>.json`, rewritten
/// atomically (temporary file + rename) whenever a child starts or ends:
///
///     {"host": "…", "owner": {"pid": 812, "start": 4410}, "groups": [{"pid": 900, "start": 4420}]}
///
/// A start time (from /proc/PID/stat) goes with every pid: only a process whose pid *and*
/// start time match is killed, never a reused pid.
public struct ProcessLedger: Sendable {
    /// `STORE/.processes`.
    public let folder: String

    public init(store: String) { folder = "\(store)/.processes" }

    struct Record: Codable, Equatable {
        struct Process: Codable, Equatable {
            var pid: Int32
            var start: UInt64
        }
        var host: String
        var owner: Process
        var groups: [Process]

        /// The owner's token prefix: every descendant's NESTCI_SUPERVISOR starts with it.
        var token: String { "\(owner.pid)-\(owner.start)-" }
    }

    static let hostName = ProcessInfo.processInfo.hostName

    /// Writes this process's record (or removes it when `groups` is empty).
    func write(owner: Record.Process, groups: [Record.Process]) {
        let file = "\(folder)/\(owner.pid)-\(owner.start).json"
        guard !groups.isEmpty else {
            unlink(file)
            return
        }
        let record = Record(host: Self.hostName, owner: owner, groups: groups)
        guard let data = try? JSONEncoder().encode(record) else { return }
        // A ledger that cannot be written (a read-only or vanished store) must not stop a
        // child from starting; the watchdog and the death signal still cover it.
        // Not with intermediate folders: a store removed meanwhile must not come back.
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        let temporary = "\(folder)/.\(owner.pid)-\(owner.start).tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else { return }
        rename(temporary, file)
    }

    /// What ``sweep()`` ended.
    public struct Sweep: Sendable, Equatable {
        /// nestci processes found gone whose records were swept.
        public var owners = 0
        /// Processes killed (group members and descendants that left their group).
        public var killed: [Int32] = []
    }

    /// Ends every process left by nestci processes of this host that are gone: the
    /// recorded groups whose leader still has its recorded start time, and every process carrying the dead
    /// owner's token. Records of live owners are left alone.
    @discardableResult
    public func sweep() -> Sweep {
        var result = Sweep()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return result }
        let me = (getpid(), ProcessTable.startTime(getpid()) ?? 0)
        var table: [ProcessTable.Entry]?
        for name in names where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let file = "\(folder)/\(name)"
            guard let data = FileManager.default.contents(atPath: file),
                let record = try? JSONDecoder().decode(Record.self, from: data)
            else {
                // A record cut short by a crash between write and rename cannot exist
                // (rename is atomic); anything unreadable here is not ours to act on.
                continue
            }
            guard record.host == Self.hostName, (record.owner.pid, record.owner.start) != me,
                !ProcessTable.isAlive(record.owner.pid, startTime: record.owner.start)
            else { continue }
            let processes = table ?? ProcessTable.all()
            table = processes
            var killed = Set<Int32>()
            for group in record.groups {
                // Only a leader with its recorded start time proves the group is ours; a
                // leaderless group's members are found by their token below.
                guard processes.contains(where: { $0.pid == group.pid && $0.startTime == group.start }) else { continue }
                kill(-group.pid, SIGKILL)
                killed.formUnion(processes.filter { $0.group == group.pid }.map(\.pid))
            }
            for pid in ProcessTable.carrying(token: record.token) {
                kill(pid, SIGKILL)
                killed.insert(pid)
            }
            result.owners += 1
            result.killed += killed.sorted()
            unlink(file)
        }
        return result
    }
}
