import Foundation
import Matrix

/// What `nestci judge` needs to judge a serial log the way the run judged the cell:
/// `verdict-rules.json` beside reproduce.sh (and written by it into its WORKDIR).
public struct JudgeRules: Sendable, Hashable, Codable {
    public var cell: String
    public var backend: Backend
    /// The cell's CPU count: the default for per-CPU pass rules.
    public var smp: Int
    public var bootTimeoutSeconds: Int
    /// Some level is a hypervisor: a TIMEOUT where the backend lacks VMX is SKIP.
    public var needsVMX: Bool
    /// What the run's host probe said about VMX on this backend (SKIP or FAIL for an
    /// "unsupported" line), and its words.
    public var hostHasVMX: Bool
    public var vmxReason: String
    public var rules: VerdictRules

    public init(
        cell: String, backend: Backend, smp: Int, bootTimeoutSeconds: Int, needsVMX: Bool, hostHasVMX: Bool, vmxReason: String,
        rules: VerdictRules
    ) {
        self.cell = cell
        self.backend = backend
        self.smp = smp
        self.bootTimeoutSeconds = bootTimeoutSeconds
        self.needsVMX = needsVMX
        self.hostHasVMX = hostHasVMX
        self.vmxReason = vmxReason
        self.rules = rules
    }

    /// Pretty, sorted JSON with a final newline.
    public func encoded() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension Verdict {
    /// A guest that needs VMX where the backend has none and times out without saying
    /// so: that is the host's limit, not the hypervisor's failure (SKIP, not TIMEOUT).
    public func accountingForMissingVMX(needsVMX: Bool, hostHasVMX: Bool, vmxReason: String, backend: Backend) -> Verdict {
        guard outcome == .timeout, needsVMX, !hostHasVMX else { return self }
        var copy = self
        copy.outcome = .skip
        copy.reason = "\(backend.rawValue) offers no VMX (\(vmxReason)); the guest timed out without saying so"
        return copy
    }
}
