/// A cell's result, as DESIGN.md defines them.
public enum Outcome: String, Sendable, Codable, CaseIterable {
    /// Every pass rule met.
    case pass = "PASS"
    /// A fail marker, or the guest stopped without passing.
    case fail = "FAIL"
    /// The boot deadline passed; the whole process tree was killed.
    case timeout = "TIMEOUT"
    /// A level did not build.
    case buildFail = "BUILD-FAIL"
    /// The harness failed (missing tool, emulator did not start, disk full). Retried;
    /// never reported as the hypervisor's failure.
    case infra = "INFRA"
    /// The host cannot run it (e.g. no VMX on this backend).
    case skip = "SKIP"
    /// Failed, then passed on a re-run.
    case flaky = "FLAKY"

    /// Whether this outcome lets `nestci run` exit 0.
    public var isAcceptable: Bool { self == .pass || self == .skip }

    /// Whether this is the hypervisor's own failure (for findings and regressions).
    public var isFailure: Bool { self == .fail || self == .timeout || self == .buildFail }
}
