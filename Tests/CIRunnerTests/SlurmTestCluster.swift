import Foundation
import Hypervisor
import Matrix
import Testing

@testable import CIRunner

/// The one-node Slurm cluster of the Slurm tests (``SlurmLocalCluster``, started per test and
/// always stopped), and the small fixture matrices they run.
enum SlurmTestCluster {
    /// Runs real Slurm: root, the daemons, qemu, GRUB and the built nestci.
    static let enabled = SlurmLocalCluster.unavailableReason == nil && BootTools.qemu && NestCIBinary.path != nil
    static let reason: Comment = "needs root, slurm-wlm and munge, qemu, GRUB tools and the built nestci executable"

    /// The fixture matrix cut to `chains` at O0/i386 (one build; one cell per chain).
    static func matrix(chains: [String]) -> String {
        let lines = FixtureMatrix.matrixText.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.contains("\"exclude\"") }
        let axes = "  \"axes\": {\"chain\": [\(chains.map { "\"\($0)\"" }.joined(separator: ", "))], \"opt\": [\"O0\"], \"bits\": [\"i386\"], \"smp\": [1], \"backend\": [\"qemu-tcg\"]}"
        return lines.map { $0.contains("\"axes\"") ? axes : String($0) }.joined(separator: "\n")
    }

    static func executor(_ cluster: SlurmLocalCluster, store: String, onEvent: @escaping @Sendable (RunEvent) -> Void = { _ in }) -> SlurmExecutor {
        SlurmExecutor(
            options: RunOptions(store: store, slots: cluster.cpus), slurm: SlurmOptions(nestci: NestCIBinary.path!, environment: cluster.environment),
            onEvent: onEvent)
    }

    /// Lines of squeue for every job of the cluster (empty: none queued or running).
    static func queue(_ cluster: SlurmLocalCluster) async throws -> [String] {
        try await cluster.client("squeue", ["--noheader", "--array", "--format=%i|%T|%r"]).split(separator: "\n").map(String.init)
    }
}
