import Foundation

/// What `nestci serve` runs and how (`service.json`): matrices with their schedules and
/// branch watching, polling and debounce, retention of evidence, the dashboard folder,
/// an optional webhook and the number of boot slots.
///
///     {
///       "matrices": [
///         {"path": "xmhf64-nightly.json", "schedule": {"daily": "02:30", "timeZone": "Europe/Zurich"}, "watch": true},
///         {"path": "demo.json", "schedule": {"everyHours": 6}}
///       ],
///       "pollMinutes": 5, "debounceSeconds": 120,
///       "retention": {"passingDays": 14, "failingDays": 90, "maxBytes": "20G"},
///       "dashboard": "/var/lib/nestci/dashboard",
///       "webhook": {"url": "https://chat.example.org/hooks/abc", "timeoutSeconds": 10, "retries": 3},
///       "slots": 2
///     }
///
/// Load one with ``ServiceConfig/load(path:)``; it reports every problem at once.
public struct ServiceConfig: Sendable, Equatable {
    /// One matrix the service runs.
    public struct MatrixEntry: Sendable, Equatable {
        /// Absolute path of the matrix file (written relative to the config file).
        public var path: String
        /// The matrix's `name` (history is kept per name), read from the file when loading.
        public var name: String
        /// When it runs on its own; nil when it only runs when its branches move.
        public var schedule: Schedule?
        /// Whether to poll the branches it builds and run when one moves.
        public var watch: Bool
        /// Automatic bisection of its new regressions (`bisect`).
        public var bisect = Bisect()
        /// Automatic -O triage of its new -O-only findings (`triage`).
        public var triage = Triage()

        public init(path: String, name: String, schedule: Schedule?, watch: Bool) {
            self.path = path
            self.name = name
            self.schedule = schedule
            self.watch = watch
        }
    }

    /// `"bisect": {"auto": true, "maxSteps": 12, "maxHours": 3}`.
    public struct Bisect: Sendable, Equatable, Codable {
        /// Whether a new regression queues a bisect job by itself.
        public var auto = false
        /// Most bisection steps (commits tried) one job may take.
        public var maxSteps = 12
        /// Most wall hours one job may take, summed over its resumed parts.
        public var maxHours = 3.0
        public init(auto: Bool = false, maxSteps: Int = 12, maxHours: Double = 3) {
            self.auto = auto
            self.maxSteps = maxSteps
            self.maxHours = maxHours
        }
    }

    /// `"triage": {"auto": true, "maxBuilds": 40}`.
    public struct Triage: Sendable, Equatable, Codable {
        /// Whether a new -O-only finding queues a triage job (after any bisection).
        public var auto = false
        /// Most builds one triage job may take.
        public var maxBuilds = 40
        public init(auto: Bool = false, maxBuilds: Int = 40) {
            self.auto = auto
            self.maxBuilds = maxBuilds
        }
    }

    /// How long evidence is kept: the policy retention applies (see ``RetentionPolicy``).
    public typealias Retention = RetentionPolicy

    /// Where run summaries are POSTed when a run ends.
    public struct Webhook: Sendable, Equatable {
        public var url: URL
        public var timeoutSeconds: Int
        /// Further attempts after the first fails.
        public var retries: Int

        public init(url: URL, timeoutSeconds: Int = 10, retries: Int = 3) {
            self.url = url
            self.timeoutSeconds = timeoutSeconds
            self.retries = retries
        }
    }

    /// The config file's absolute path (for messages).
    public var file: String
    public var matrices: [MatrixEntry]
    /// Minutes between `git ls-remote` polls of watched branches.
    public var pollMinutes: Int
    /// Seconds between polls, when given instead (overrides ``pollMinutes``).
    public var pollSeconds: Int?
    /// The time between polls.
    public var pollInterval: Duration { .seconds(pollSeconds ?? pollMinutes * 60) }
    /// A moved branch starts a run only after it stayed on the same commit this long, so a
    /// series of pushes gives one run.
    public var debounceSeconds: Int
    public var retention: Retention
    /// Absolute path of the dashboard folder; nil: the caller's default (inside the store).
    public var dashboard: String?
    public var webhook: Webhook?
    /// Boots at once (Bochs and TCG each keep a core busy).
    public var slots: Int
    /// What runs the cells (`"executor"`: local, or Slurm job arrays).
    public var executor: ExecutorChoice = .local

    public init(
        file: String, matrices: [MatrixEntry], pollMinutes: Int = 5, debounceSeconds: Int = 120,
        retention: Retention = Retention(), dashboard: String? = nil, webhook: Webhook? = nil, slots: Int = 1
    ) {
        self.file = file
        self.matrices = matrices
        self.pollMinutes = pollMinutes
        self.debounceSeconds = debounceSeconds
        self.retention = retention
        self.dashboard = dashboard
        self.webhook = webhook
        self.slots = slots
    }

    /// Entries whose branches are polled.
    public var watchedMatrices: [MatrixEntry] { matrices.filter(\.watch) }
}
