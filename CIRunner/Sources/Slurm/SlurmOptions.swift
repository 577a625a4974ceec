import Foundation
import Matrix

/// How the Slurm executor submits a run (`nestci run --executor slurm`, the service's
/// `"executor": {"kind": "slurm", …}`).
public struct SlurmOptions: Sendable, Equatable {
    /// `--partition`; nil: the cluster's default.
    public var partition: String?
    /// `--account`; nil: the user's default.
    public var account: String?
    /// Folder for task scripts, logs and bundles, on a filesystem every node sees (NFS);
    /// nil: STORE/slurm/<run>.
    public var spool: String?
    /// The build cache the tasks share; nil: STORE/cache.
    public var cache: String?
    /// `--constraint` per backend (qemu-kvm → kvm by default; none for qemu-tcg and Bochs).
    public var constraints: [Backend: String]
    /// The nestci the tasks run; nil: this executable.
    public var nestci: String?
    /// Environment for the Slurm clients (e.g. SLURM_CONF).
    public var environment: [String: String]
    /// How often squeue/scontrol are asked.
    public var pollInterval: Duration
    /// Added to each task's `--time` (minutes) beyond its own timeouts.
    public var marginMinutes: Int
    /// Cells one cell task runs, one after another (cells of the same builds and constraint).
    /// 1: a task per cell. More pays a task's own start once for several short cells: Slurm's
    /// launch (~0.04 s here on a cluster with an Epilog, ~1 s without one) and nestci's
    /// (the task script, the process, the compiler probe, the cached disk's digest: ~0.15 s
    /// here). A requeued task runs again only its cells that did not finish (PASS, FAIL or SKIP).
    public var cellsPerTask: Int

    public init(
        partition: String? = nil, account: String? = nil, spool: String? = nil, cache: String? = nil,
        constraints: [Backend: String] = [.qemuKVM: "kvm"], nestci: String? = nil, environment: [String: String] = [:],
        pollInterval: Duration = .milliseconds(500), marginMinutes: Int = 5, cellsPerTask: Int = 1
    ) {
        self.partition = partition
        self.account = account
        self.spool = spool
        self.cache = cache
        self.constraints = constraints
        self.nestci = nestci
        self.environment = environment
        self.pollInterval = pollInterval
        self.marginMinutes = marginMinutes
        self.cellsPerTask = max(1, cellsPerTask)
    }

    /// `--partition`/`--account` words for sbatch.
    var placement: [String] {
        (partition.map { ["--partition=\($0)"] } ?? []) + (account.map { ["--account=\($0)"] } ?? [])
    }

    /// A Slurm name (partition, account, constraint) is a plain word: refused otherwise, with where.
    public static func checkName(_ value: String, what: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-&|")
        guard !value.isEmpty, value.count <= 100, value.allSatisfy({ allowed.contains($0) }) else {
            throw RunError(.missingInput, "\(what) \"\(value.prefix(80))\": use letters, digits and . _ - (and & | in constraints), at most 100 characters")
        }
    }
}
