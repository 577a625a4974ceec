import Foundation
import Hypervisor

/// A one-node Slurm cluster on this host, as root: its own munge key and socket, its own
/// ports, state, spool, logs and pid files under one folder, so it disturbs no system
/// munge or Slurm. The tests and `nestci bench slurm` run the Slurm executor against it.
///
///     let cluster = try await SlurmLocalCluster.start()
///     defer { cluster.stop() }
///     // clients: environment SLURM_CONF=cluster.conf (SlurmCommands(conf: cluster.conf))
///
/// The daemons run in the foreground as supervised children (munged -F, slurmctld -D,
/// slurmd -D), so stopping is SIGTERM to their groups, SIGKILL after a grace, and a reap.
public final class SlurmLocalCluster: Sendable {
    public let folder: String
    public var conf: String { "\(folder)/slurm.conf" }
    public let node: String
    public let cpus: Int
    private let daemons: Mutex<[String: SupervisedProcess]>

    /// Why a local cluster cannot start here, or nil when it can (root and the daemons installed).
    public static var unavailableReason: String? {
        if getuid() != 0 { return "a one-node Slurm cluster needs root (SlurmUser=root)" }
        for tool in ["/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/bin/sbatch"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing: apt-get install slurm-wlm munge"
        }
        return nil
    }

    private init(folder: String, node: String, cpus: Int) {
        self.folder = folder
        self.node = node
        self.cpus = cpus
        self.daemons = Mutex([:])
    }

    /// Writes the configuration, starts munged, slurmctld and slurmd, and waits until the
    /// node is idle. On failure everything started is stopped again.
    public static func start(folder: String? = nil, port: Int? = nil) async throws -> SlurmLocalCluster {
        if let reason = unavailableReason { throw RunError(.setup, reason) }
        let folder = folder ?? FileManager.default.temporaryDirectory.appendingPathComponent("nestci-slurm-\(getpid())-\(UUID().uuidString.prefix(6))").path
        for sub in ["state", "spool", "log", "munge"] {
            try FileManager.default.createDirectory(atPath: "\(folder)/\(sub)", withIntermediateDirectories: true)
        }
        let node = Self.shortHostname()
        let cpus = ProcessInfo.processInfo.activeProcessorCount
        let cluster = SlurmLocalCluster(folder: folder, node: node, cpus: cpus)
        // Ports of our own (not 6817/6818), different per process so two test processes coexist.
        let port = port ?? 20000 + Int(getpid() % 20000) * 2 % 20000
        do {
            try cluster.writeKey()
            try cluster.configuration(port: port).write(toFile: cluster.conf, atomically: true, encoding: .utf8)
            try await cluster.startMunge()
            try cluster.launch("slurmctld", ["/usr/sbin/slurmctld", "-D", "-i", "-f", cluster.conf])
            try await cluster.startSlurmd()
        } catch {
            await cluster.stop()
            throw error
        }
        return cluster
    }

    /// The slurm.conf: quick timeouts (a lost node is noticed in seconds), requeue allowed,
    /// no accounting daemon (the executor watches with squeue and scontrol), and an Epilog.
    ///
    /// The Epilog does nothing, but without one Slurm (22.05, measured here) frees an ended
    /// batch task's CPU on slurmd's "already complete" answer, which does not wake the
    /// scheduler: the next task waited for the next periodic pass, 1.00 s (min 0.98, max
    /// 1.01) after each CPU freed, for 16 x `sleep 1` on 2 CPUs in 15.6 s. With an Epilog,
    /// slurmd's epilog-complete message schedules at once: 0.04 s gaps, 8.8 s.
    func configuration(port: Int) -> String {
        let memory = Self.memoryMiB()
        return """
            ClusterName=nestci
            SlurmctldHost=\(node)
            SlurmUser=root
            SlurmdUser=root
            AuthType=auth/munge
            CredType=cred/munge
            AuthInfo=socket=\(folder)/munge/socket
            SlurmctldPort=\(port)
            SlurmdPort=\(port + 1)
            StateSaveLocation=\(folder)/state
            SlurmdSpoolDir=\(folder)/spool
            SlurmctldPidFile=\(folder)/slurmctld.pid
            SlurmdPidFile=\(folder)/slurmd.pid
            SlurmctldLogFile=\(folder)/log/slurmctld.log
            SlurmdLogFile=\(folder)/log/slurmd.log
            ProctrackType=proctrack/linuxproc
            TaskPlugin=task/none
            SelectType=select/cons_tres
            SelectTypeParameters=CR_Core
            SchedulerType=sched/backfill
            SchedulerParameters=\(ProcessInfo.processInfo.environment["NESTCI_SLURM_SCHEDULER_PARAMETERS"] ?? Self.schedulerParameters)
            ReturnToService=2
            SlurmdTimeout=5
            SlurmctldTimeout=10
            MessageTimeout=5
            MinJobAge=3600
            InactiveLimit=0
            KillWait=5
            JobRequeue=1
            MpiDefault=none
            AccountingStorageType=accounting_storage/none
            JobCompType=jobcomp/none
            JobAcctGatherType=jobacct_gather/none
            MaxArraySize=100000
            Epilog=/bin/true
            NodeName=\(node) CPUs=\(cpus) RealMemory=\(memory) Feature=tcg State=UNKNOWN
            PartitionName=main Nodes=\(node) Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO

            """
    }

    /// The scheduler's pace (NESTCI_SLURM_SCHEDULER_PARAMETERS replaces it, to compare
    /// settings with `nestci bench slurm`).
    static let schedulerParameters = "sched_interval=1,bf_interval=1"

    private func writeKey() throws {
        var bytes = [UInt8](repeating: 0, count: 1024)
        for index in bytes.indices { bytes[index] = UInt8.random(in: 0...255) }
        let path = "\(folder)/munge/munge.key"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o400)
        chmod("\(folder)/munge", 0o700)
    }

    private func startMunge() async throws {
        let munge = "\(folder)/munge"
        try launch("munged", [
            "/usr/sbin/munged", "-F", "-f", "--key-file=\(munge)/munge.key", "--socket=\(munge)/socket",
            "--pid-file=\(munge)/munged.pid", "--log-file=\(munge)/munged.log", "--seed-file=\(munge)/munged.seed",
        ])
        try await waitUntil("munged's socket \(munge)/socket", seconds: 20) { FileManager.default.fileExists(atPath: "\(munge)/socket") }
    }

    /// Starts slurmd (again, after `killSlurmd`) and waits until the node is idle.
    public func startSlurmd() async throws {
        try launch("slurmd", ["/usr/sbin/slurmd", "-D", "-f", conf])
        try await waitUntil("node \(node) idle in sinfo", seconds: 60) {
            let output = try? await self.client("sinfo", ["--noheader", "--nodes=\(self.node)", "--format=%t"])
            return output?.trimmingCharacters(in: .whitespacesAndNewlines) == "idle"
        }
    }

    /// SIGKILLs slurmd and its process group (the job steps it started with it): the node is lost.
    public func killSlurmd() async {
        guard let slurmd = daemons.withLock({ $0.removeValue(forKey: "slurmd") }) else { return }
        kill(-slurmd.pid, SIGKILL)
        _ = await slurmd.wait()
    }

    /// Loses the node: SIGKILL to slurmd's group and to every process of this cluster's
    /// jobs (their environment names this cluster's SLURM_CONF), as a host that dies.
    public func killNode() async {
        await killSlurmd()
        for pid in jobProcesses() { kill(pid, SIGKILL) }
    }

    /// The processes of this cluster's jobs: slurmstepd (slurmd starts it in a session of
    /// its own, so it outlives slurmd's group) and what the tasks run. They are known by
    /// this cluster's conf path in their environment (SLURM_CONF) or command line, which
    /// no other cluster's processes have. This process and the daemons are left out.
    func jobProcesses() -> [Int32] {
        let keep = Set([getpid()] + daemons.withLock { $0.values.map(\.pid) })
        let marker = Array("SLURM_CONF=\(conf)".utf8)
        let path = Array(conf.utf8)
        var found: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), !keep.contains(pid), ProcessTable.isRunning(pid) else { continue }
            let environ = FileManager.default.contents(atPath: "/proc/\(entry)/environ") ?? Data()
            let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") ?? Data()
            if environ.split(separator: 0).contains(where: { Array($0) == marker }) || cmdline.split(separator: 0).contains(where: { Array($0) == path }) {
                found.append(pid)
            }
        }
        return found
    }


    /// The pid of a daemon (munged, slurmctld, slurmd) while it runs.
    public func pid(_ daemon: String) -> Int32? { daemons.withLock { $0[daemon]?.pid } }

    /// Environment for Slurm clients of this cluster.
    public var environment: [String: String] { ["SLURM_CONF": conf] }

    /// Runs a Slurm client (squeue, sinfo, scontrol…) against this cluster; its output.
    public func client(_ tool: String, _ arguments: [String]) async throws -> String {
        let result = try await SupervisedProcess.run(ProcessSpec(tool, arguments, environment: environment, timeout: .seconds(30)))
        guard result.succeeded else { throw RunError(.setup, "\(tool) \(arguments.joined(separator: " ")): \(result.summary): \(result.output)") }
        return result.output
    }

    /// Cancels every job, ends what is left of them (slurmstepd and the tasks' processes
    /// of this cluster only: ``jobProcesses()``), then stops slurmd, slurmctld and munged
    /// by their pids (their process groups) and reaps them. slurmstepd is no child of
    /// slurmd's group, so without this a step outlives the cluster.
    public func stop() async {
        // Best effort: a slurmctld that does not answer is not waited for; what is left is killed below.
        if pid("slurmctld") != nil, (try? await client("scancel", ["--user=root"])) != nil {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, let queue = try? await client("squeue", ["--noheader", "--format=%i"]),
                !queue.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        await endJobProcesses()
        let all = daemons.withLock { daemons -> [SupervisedProcess] in
            defer { daemons = [:] }
            return ["slurmd", "slurmctld", "munged"].compactMap { daemons[$0] }
        }
        for daemon in all { daemon.stop() }
        for daemon in all { _ = await daemon.wait() }
    }

    /// SIGKILLs ``jobProcesses()`` until none is left (up to 10 s). They are not our
    /// children: their parent (or init) reaps them; waiting until they are gone is the reap.
    func endJobProcesses() async {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let left = jobProcesses()
            if left.isEmpty { return }
            for pid in left { kill(pid, SIGKILL) }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Starts a cluster, runs `body` with it, and stops it whatever `body` does.
    public static func with<T: Sendable>(_ body: (SlurmLocalCluster) async throws -> T) async throws -> T {
        let cluster = try await start()
        do {
            let value = try await body(cluster)
            await cluster.stop()
            cluster.remove()
            return value
        } catch {
            await cluster.stop()
            cluster.remove()
            throw error
        }
    }

    /// Removes the cluster's folder (after `stop`).
    public func remove() {
        // NESTCI_KEEP: keep the logs of a failed test to read.
        if ProcessInfo.processInfo.environment["NESTCI_KEEP"] == nil { try? FileManager.default.removeItem(atPath: folder) }
    }

    private func launch(_ name: String, _ argv: [String]) throws {
        var spec = ProcessSpec(argv[0], Array(argv.dropFirst()), environment: environment, timeout: nil, outputLimit: 256 << 10)
        spec.gracePeriod = .seconds(5)
        let process = try SupervisedProcess(spec)
        daemons.withLock { $0[name] = process }
    }

    private func waitUntil(_ what: String, seconds: Double, _ ready: @Sendable () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await ready() { return }
            let gone = daemons.withLock { $0.filter { nestci_alive($0.value.pid) == false }.map(\.key) }
            if let dead = gone.first {
                throw RunError(.setup, "\(dead) of the local Slurm cluster ended while waiting for \(what); see \(folder)/log and \(folder)/munge/munged.log")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw RunError(.setup, "the local Slurm cluster: no \(what) after \(Int(seconds)) s; see \(folder)/log")
    }

    static func shortHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)  // the last byte stays the terminator
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(name.split(separator: ".").first ?? Substring(name))
    }

    /// MemTotal less 10 % (slurmd refuses a node that has less than RealMemory).
    static func memoryMiB() -> Int {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("MemTotal:") } ?? ""
        let kib = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 1 << 20
        return max(256, kib / 1024 * 9 / 10)
    }
}

private func nestci_alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }
