import Foundation
import Hypervisor

/// How `nestci run` runs a plan.
public struct RunOptions: Sendable {
    /// The artifact store root.
    public var store: String
    /// Boots at once (Bochs and TCG keep one host core busy each).
    public var slots: Int
    /// How often an INFRA boot is retried before INFRA is reported.
    public var infraRetries: Int
    /// How often a FAIL/TIMEOUT cell is re-run; a later PASS makes it FLAKY.
    public var rerunFailed: Int
    /// Stop starting new boots after the first failure.
    public var failFast: Bool
    /// Why the run happened (`manual`, `schedule`, `branch xmhf64 moved`, ...).
    public var trigger: String
    public var builder: BuilderOptions
    /// Cap on each cell's serial log (head and tail kept).
    public var serialLogLimit: Int
    /// Boot a known-good kernel on each backend first (nil: no check); a backend that
    /// fails it gives its cells INFRA instead of booting them.
    public var canary: HostCanary?

    public init(
        store: String, slots: Int = ProcessInfo.processInfo.activeProcessorCount, infraRetries: Int = 2, rerunFailed: Int = 0,
        failFast: Bool = false, trigger: String = "manual", builder: BuilderOptions = BuilderOptions(), serialLogLimit: Int = 64 << 20, canary: HostCanary? = nil
    ) {
        self.store = store
        self.slots = max(1, slots)
        self.infraRetries = max(0, infraRetries)
        self.rerunFailed = max(0, rerunFailed)
        self.failFast = failFast
        self.trigger = trigger
        self.builder = builder
        self.serialLogLimit = serialLogLimit
        self.canary = canary
    }
}

/// What a running scheduler reports, for progress displays and the service's log.
public enum RunEvent: Sendable {
    case started(runID: String, cells: Int, builds: Int)
    case buildFinished(key: String, status: String, cached: Bool, seconds: Double)
    case cellBooting(cellID: String, label: String, attempt: Int)
    case cellFinished(CellResult)
}
