import Matrix

/// Findings as a person reads them in `nestci report` and on top of `nestci show`.
extension Finding {
    /// The kind as a short tag: `-O only`, `regression`, `fix`, `axis`.
    public var tag: String {
        switch kind {
        case .optOnly: "-O only"
        case .regression: "regression"
        case .fix: "fix"
        case .regressionAcrossAxis: "axis"
        case .slower: "slower"
        case .faster: "faster"
        }
    }

    /// Title, detail, commits and the VMCS diff, indented under the title. A known issue's
    /// tag is `known: LINK` in place of `regression`.
    public var text: String {
        var lines = ["[\(known.map { "\(kind == .regression ? "" : "\(tag), ")known: \(MessageText.escaped($0.link, limit: 200))" } ?? tag)] \(title)"]
        lines += detail.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" }
        for change in commits {
            lines.append("  commit \(change.component): \(change.before.map(Self.short) ?? "(none)") → \(change.after.map(Self.short) ?? "(none)")")
        }
        for (index, vmcsDiff) in [vmcsDiff, secondVMCSDiff].compactMap({ $0 }).enumerated() {
            let passing = vmcsDiff.passingRunID == vmcsDiff.failingRunID ? vmcsDiff.passingCellID : "\(vmcsDiff.passingRunID)/\(vmcsDiff.passingCellID)"
            let which = index == 0 ? "" : " (second, against another -O level: addresses move with the layout)"
            lines.append("  VMCS diff\(which), \(passing) (passing) → \(vmcsDiff.failingCellID) (failing):")
            lines += vmcsDiff.text.split(separator: "\n").map { "    \($0)" }
            lines.append("  see: nestci vmcs diff \(vmcsDiff.passingRunID)/\(vmcsDiff.passingCellID) \(vmcsDiff.failingRunID)/\(vmcsDiff.failingCellID)")
        }
        return lines.joined(separator: "\n")
    }

    /// The VMCS diff in one line for chat and the top of a finding: every field that went to
    /// 0, then other telling changes, at most 4 unless more went to 0:
    /// `VMCS: VMREAD-bitmap address became 0, VMWRITE-bitmap address became 0 (+6 more)`.
    /// Nil without a diff or when it has no telling change.
    public var vmcsHeadline: String? {
        guard let diff = vmcsDiff?.diff else { return nil }
        let telling = diff.ranked.filter { $0.significance == .telling }
        guard !telling.isEmpty else { return nil }
        let zero = telling.filter { $0.note == "became 0" }
        let shown = zero + telling.filter { $0.note != "became 0" }.prefix(max(0, 4 - zero.count))
        let rest = diff.changes.count - shown.count
        return "VMCS: " + shown.map { "\($0.sdmName) \($0.note ?? "differs")" }.joined(separator: ", ") + (rest > 0 ? " (+\(rest) more)" : "")
    }

    static func short(_ commit: String) -> String { String(commit.prefix(12)) }
}
